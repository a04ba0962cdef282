import { join } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, parseConfig } from '@lifecycle/kit';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

export const ClassifierConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  /** Stage thresholds (at_risk, lapsed, advocacy). */
  LIFECYCLE_CONFIG: z.string().default(join(repoRoot, 'config', 'lifecycle.yaml')),
});
export type ClassifierConfig = z.infer<typeof ClassifierConfig>;

export function loadConfig(env: Record<string, string | undefined>): ClassifierConfig {
  return parseConfig(ClassifierConfig, env);
}
