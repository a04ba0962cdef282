import { z } from 'zod';
import { baseConfigShape, parseConfig } from '@lifecycle/kit';

export const ClassifierConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3002),
});
export type ClassifierConfig = z.infer<typeof ClassifierConfig>;

export function loadConfig(env: Record<string, string | undefined>): ClassifierConfig {
  return parseConfig(ClassifierConfig, env);
}
