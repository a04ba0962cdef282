import { z } from 'zod';
import { baseConfigShape, parseConfig } from '@lifecycle/kit';

const sha256Hex = /^[0-9a-f]{64}$/;

export const IngestionConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /**
   * SHA-256 hex hashes of the write keys the HTTP tracking API accepts, comma-separated; several
   * at once for rotation. Unset: every HTTP call is refused with 401 (Kafka ingestion still works).
   */
  INGESTION_WRITE_KEY_HASHES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''))
    .pipe(z.array(z.string().regex(sha256Hex, 'each hash is 64 hex characters: printf KEY | sha256sum'))),
  /** How long a messageId is remembered for deduplication. */
  INGESTION_DEDUPE_RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  /** How often remembered messageIds older than the retention window are deleted. */
  INGESTION_DEDUPE_PURGE_INTERVAL_MS: z.coerce.number().int().positive().default(3_600_000),
  /** How long an HTTP request waits for Kafka before it answers 503. */
  INGESTION_PUBLISH_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /**
   * When a `commerce.events` record was received: `clock` (the default with CLOCK=simulated: other
   * producers stamp real time) or `record`, its Kafka timestamp (the default with CLOCK=system). A
   * replay (`./lifecycle what-if`) re-publishes records with their original receipt times and
   * sets `record` on its simulated stack, so skew correction and the future cap see them as received then.
   */
  INGESTION_RECEIPT_TIME: z.enum(['clock', 'record']).optional(),
});
export type IngestionConfig = z.infer<typeof IngestionConfig>;

export function loadConfig(env: Record<string, string | undefined>): IngestionConfig {
  return parseConfig(IngestionConfig, env);
}
