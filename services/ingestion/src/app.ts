import { lt } from 'drizzle-orm';
import { createBaseApp, createOutbox, createServiceMetrics, databaseReachable, installMetrics, type Database, type FastifyInstance, type Logger, type Outbox, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import { topicName } from '@lifecycle/contracts';
import { startIngestionConsumer } from './batch-consumer.ts';
import type { IngestionConfig } from './config.ts';
import { seenMessages } from './db/schema.ts';
import { dedupeCutoff } from './domain/dedupe-window.ts';
import { openApiDocument } from './openapi.ts';
import { registerTrackingApi, type TrackingApiOptions } from './tracking-api.ts';

export interface AppOptions extends TrackingApiOptions {
  logger: Logger;
  /** Named readiness checks for `/readyz`. */
  readiness: Record<string, () => boolean | Promise<boolean>>;
  /** Checks `/readyz` shows without gating on them. */
  informational?: Record<string, () => boolean | Promise<boolean>>;
}

/** The HTTP app: health, the Segment-compatible tracking API and its OpenAPI description at `/docs`. */
export function createApp(opts: AppOptions): FastifyInstance {
  const app = createBaseApp({ logger: opts.logger, readiness: opts.readiness, ...(opts.informational !== undefined ? { informational: opts.informational } : {}) });
  registerTrackingApi(app, opts);
  const document = openApiDocument();
  app.get('/docs', async () => document);
  app.get('/docs/openapi.json', async () => document);
  return app;
}

/** Deletes remembered messageIds older than the retention window; resolves to how many. */
export async function purgeExpiredMessages(db: Database, now: Date, retentionDays: number): Promise<number> {
  const deleted = await db.delete(seenMessages).where(lt(seenMessages.firstSeenAt, dedupeCutoff(now, retentionDays))).returning({ messageId: seenMessages.messageId });
  return deleted.length;
}

export interface Ingestion {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  /** Where the consumer's clean events wait for the relay, which publishes them on `lifecycle.events` after each commit. */
  outbox: Outbox;
  /** The dedupe purge timer and the outbox relay. */
  background: { stop: () => Promise<void> }[];
}

/** Builds the ingestion service on an open runtime: the `commerce.events` consumer, the HTTP app, the purge. */
export async function buildIngestion(runtime: Runtime, config: IngestionConfig, now: () => Date = () => new Date()): Promise<Ingestion> {
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'ingestion', prefix: runtime.prefix, logger: runtime.logger, now });
  outbox.start();
  const consumer = await startIngestionConsumer({ runtime, outbox, logger: runtime.logger, now });
  const consumers = [consumer];
  if (config.INGESTION_WRITE_KEY_HASHES.length === 0) runtime.logger.warn('no write keys configured, the HTTP tracking API refuses every call');
  const app = createApp({
    logger: runtime.logger,
    // The HTTP API needs only Kafka: while the database is down calls still go onto
    // `commerce.events` (the consumer pauses), so a probe must not take the API out of rotation.
    readiness: { consumers: () => consumers.every((c) => c.ready()) },
    informational: { database: () => databaseReachable(runtime.pool) },
    writeKeyHashes: config.INGESTION_WRITE_KEY_HASHES,
    publishTimeoutMs: config.INGESTION_PUBLISH_TIMEOUT_MS,
    now,
    publish: async (records) => {
      await runtime.producer.send({ topic: topicName(runtime.prefix, 'commerceEvents'), acks: -1, messages: records });
    },
  });

  const purge = async (): Promise<void> => {
    try {
      const deleted = await purgeExpiredMessages(runtime.db, now(), config.INGESTION_DEDUPE_RETENTION_DAYS);
      runtime.logger.info({ deleted, retentionDays: config.INGESTION_DEDUPE_RETENTION_DAYS }, 'expired dedupe entries purged');
    } catch (err) {
      runtime.logger.error({ err }, 'dedupe purge failed');
    }
  };
  void purge();
  const timer = setInterval(() => void purge(), config.INGESTION_DEDUPE_PURGE_INTERVAL_MS);
  timer.unref();
  installMetrics(app, createServiceMetrics({ kafka: runtime.kafka, prefix: runtime.prefix, logger: runtime.logger, groups: [{ groupId: 'lifecycle-ingestion', topic: 'commerceEvents' }] }));
  // Also when only the app is closed: the relay's connections must not outlive it.
  app.addHook('onClose', () => outbox.stop());
  return { app, consumers, outbox, background: [{ stop: async () => clearInterval(timer) }, outbox] };
}
