import { z } from 'zod';

export const Stage = z.enum(['awareness', 'consideration', 'conversion', 'retention', 'advocacy', 'at_risk', 'lapsed']);
export type Stage = z.infer<typeof Stage>;
