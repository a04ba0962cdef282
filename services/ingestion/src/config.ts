import { z } from 'zod';
import { baseConfigShape, parseConfig } from '@lifecycle/kit';

export const IngestionConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
});
export type IngestionConfig = z.infer<typeof IngestionConfig>;

export function loadConfig(env: Record<string, string | undefined>): IngestionConfig {
  return parseConfig(IngestionConfig, env);
}
