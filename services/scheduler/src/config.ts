import { join, resolve } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, parseConfig, pathSetting } from '@lifecycle/kit';

/** The repository root (this file is services/scheduler/src/config.ts): the folders' defaults. */
const repoRoot = join(import.meta.dirname, '..', '..', '..');

export const SchedulerConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  /** The campaign files. */
  CAMPAIGNS_DIR: pathSetting(join(repoRoot, 'campaigns'), 'folder'),
  /** The store's shared settings file; the scheduler reads its exchange rates (`currencies`). */
  LIFECYCLE_CONFIG: pathSetting(join(repoRoot, 'config', 'lifecycle.yaml'), 'file'),
  /** The consent settings (topics); default `_consent.yaml` in the campaigns folder. A missing file: no topics. */
  CONSENT_FILE: z.string().min(1).transform((p) => resolve(p)).optional(),
  SCHEDULER_POLL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Jobs claimed and fired per database transaction. */
  SCHEDULER_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  /**
   * How long ids of consumed records are kept to drop redeliveries (which come within minutes);
   * older ones are purged so the table does not grow with every event ever seen.
   */
  SCHEDULER_PROCESSED_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  /**
   * How long sent, skipped and cancelled jobs are kept (stats, frequency caps and re-entry rules
   * look back at them; "once ever" jobs are kept for good). Over a year by default.
   */
  SCHEDULER_JOB_RETENTION_DAYS: z.coerce.number().int().min(30).default(400),
  SCHEDULER_PURGE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  /** Half-life in days of a purchase's weight in co-purchases and best sellers. */
  CATALOG_HALF_LIFE_DAYS: z.coerce.number().positive().default(90),
  /** Customers who must have bought two products before they are recommended together. */
  CATALOG_MIN_SUPPORT: z.coerce.number().int().min(1).default(2),
  /** Reorder gaps a product needs before it has a reorder interval (replenishment). */
  CATALOG_MIN_REORDER_SAMPLES: z.coerce.number().int().min(1).default(5),
  /** Where the simulated clock starts (ISO 8601); default: the time of start-up. */
  CLOCK_START: z.iso.datetime({ offset: true }).optional(),
});
export type SchedulerConfig = z.infer<typeof SchedulerConfig>;

export function loadConfig(env: Record<string, string | undefined>): SchedulerConfig {
  return parseConfig(SchedulerConfig, env);
}
