import { componentGroup, componentReadiness, consumerComponent, createOutbox, intervalTask, outboxRelay, startInProcess, type ConsumerComponent, type FastifyInstance, type InProcess, type Outbox, type Runtime, type ServiceParts } from '@lifecycle/kit';
import { createIngestionApp } from './app.ts';
import { startIngestionConsumer } from './batch-consumer.ts';
import type { IngestionConfig } from './config.ts';
import { purgeExpiredMessages } from './db/seen-messages.ts';
import { privacyConsumer } from './privacy.ts';

export interface IngestionService extends ServiceParts<FastifyInstance> {
  /** The `commerce.events` consumer. */
  consumers: ConsumerComponent[];
  /** Where the consumer's clean events wait for the relay, which publishes them on `lifecycle.events` after each commit. */
  outbox: Outbox;
}

/**
 * Ingestion on an open runtime, built but not started: the HTTP app, and its components in
 * start-up order — the outbox relay, the `commerce.events` consumer, the dedupe purge. Shutdown
 * runs them backwards, so the relay publishes what the consumer enqueued last.
 */
export function ingestionService(runtime: Runtime, config: IngestionConfig, now: () => Date = () => new Date()): IngestionService {
  const { logger } = runtime;
  // A replay's relay publishes thousands of events a second: fewer, larger produce requests (the
  // kit caps their bytes) keep it from falling behind the consumer.
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'ingestion', prefix: runtime.prefix, logger, now, batchSize: 1_000, stampWithClock: config.CLOCK === 'simulated' });
  const consumer = consumerComponent('lifecycle-ingestion', () => startIngestionConsumer({ runtime, outbox, logger, now, receiptFromClock: (config.INGESTION_RECEIPT_TIME ?? (config.CLOCK === 'simulated' ? 'clock' : 'record')) === 'clock' }));
  const retentionDays = config.INGESTION_DEDUPE_RETENTION_DAYS;
  const purge = intervalTask({
    name: 'dedupe purge',
    everyMs: config.INGESTION_DEDUPE_PURGE_INTERVAL_MS,
    logger,
    run: async () => {
      const deleted = await purgeExpiredMessages(runtime.db, now(), retentionDays);
      logger.info({ deleted, retentionDays }, 'expired dedupe entries purged');
    },
  });
  const privacy = privacyConsumer(runtime, outbox);
  const components = [outboxRelay(outbox), componentGroup('consumers', [consumer, privacy]), purge];
  const app = createIngestionApp({ runtime, config, readiness: componentReadiness(components), now });
  return { app, components, consumers: [consumer, privacy], outbox };
}

export type Ingestion = InProcess<IngestionService>;

/** Ingestion started in this process (tests, benchmarks): drive `app` with `inject()`, end with `stop()`. */
export function startIngestion(runtime: Runtime, config: IngestionConfig, now?: () => Date): Promise<Ingestion> {
  return startInProcess(ingestionService(runtime, config, now), runtime.logger);
}
