import { join } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, parseConfig, pathSetting } from '@lifecycle/kit';
import { defaultRfmWorkerSettings as rfm, type RfmWorkerSettings } from './rfm-recompute.ts';

/** The repository root (this file is services/classifier/src/config.ts): the default's base. */
const repoRoot = join(import.meta.dirname, '..', '..', '..');

export const ClassifierConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  /** Stage thresholds (at_risk, lapsed, advocacy). */
  LIFECYCLE_CONFIG: pathSetting(join(repoRoot, 'config', 'lifecycle.yaml'), 'file'),
  /** Customers per transaction of the RFM recompute. */
  RFM_BATCH_SIZE: z.coerce.number().int().min(1).default(rfm.batchSize),
  /** How long one run of the RFM recompute takes batches before yielding until the next run. */
  RFM_RUN_BUDGET_MS: z.coerce.number().int().min(1).default(rfm.budgetMs),
  /** Pause between runs of the RFM recompute. */
  RFM_POLL_MS: z.coerce.number().int().min(10).default(rfm.pollMs),
  /** Longest one statement of the RFM recompute may take (the whole-base ranking is the longest). */
  RFM_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(rfm.statementTimeoutMs),
});
export type ClassifierConfig = z.infer<typeof ClassifierConfig>;

/** The RFM worker's pace from the configuration. */
export function rfmWorkerSettings(config: ClassifierConfig): RfmWorkerSettings {
  return { batchSize: config.RFM_BATCH_SIZE, budgetMs: config.RFM_RUN_BUDGET_MS, pollMs: config.RFM_POLL_MS, statementTimeoutMs: config.RFM_STATEMENT_TIMEOUT_MS };
}

export function loadConfig(env: Record<string, string | undefined>): ClassifierConfig {
  return parseConfig(ClassifierConfig, env);
}
