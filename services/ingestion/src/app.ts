import { createBaseApp, createServiceMetrics, databaseReachable, installMetrics, installOperatorApi, type FastifyInstance, type Logger, type Readiness, type Runtime, type ServiceMetrics } from '@lifecycle/kit';
import { topicName } from '@lifecycle/contracts';
import type { IngestionConfig } from './config.ts';
import { openApiDocument } from './openapi.ts';
import { registerTrackingApi, type TrackingApiOptions } from './tracking-api.ts';

export interface AppOptions extends TrackingApiOptions {
  logger: Logger;
  /** Named readiness checks for `/readyz`. */
  readiness: Readiness;
  /** Checks `/readyz` shows without gating on them. */
  informational?: Readiness;
  /** Given, `GET /metrics` shows them. */
  metrics?: ServiceMetrics;
  /** Given, routes other than the kit's open ones (the tracking API, health, metrics, docs) require it as a bearer token. */
  serviceToken?: string | undefined;
}

/** The HTTP app: health, the Segment-compatible tracking API and its OpenAPI description at `/docs`. */
export function createApp(opts: AppOptions): FastifyInstance {
  const app = createBaseApp({ logger: opts.logger, readiness: opts.readiness, ...(opts.informational !== undefined ? { informational: opts.informational } : {}), serviceToken: opts.serviceToken });
  registerTrackingApi(app, opts);
  const document = openApiDocument();
  app.get('/docs', async () => document);
  app.get('/docs/openapi.json', async () => document);
  if (opts.metrics !== undefined) installMetrics(app, opts.metrics);
  return app;
}

/** The consumer group whose lag `GET /metrics` shows. */
export const ingestionConsumerGroup = { groupId: 'lifecycle-ingestion', topic: 'commerceEvents' } as const;

/**
 * The HTTP app on an open runtime: calls go onto `commerce.events` with the runtime's producer.
 * It starts nothing; `readiness` reports on the components started beside it.
 */
export function createIngestionApp(opts: { runtime: Runtime; config: IngestionConfig; readiness: Readiness; now?: () => Date }): FastifyInstance {
  const { runtime, config } = opts;
  if (config.INGESTION_WRITE_KEY_HASHES.length === 0) runtime.logger.warn('no write keys configured, the HTTP tracking API refuses every call');
  const now = opts.now ?? (() => new Date());
  const metrics = createServiceMetrics({ kafka: runtime.kafka, prefix: runtime.prefix, logger: runtime.logger, groups: [ingestionConsumerGroup] });
  const app = createApp({
    logger: runtime.logger,
    // The HTTP API needs only Kafka: while the database is down calls still go onto
    // `commerce.events` (the consumer pauses), so a probe must not take the API out of rotation.
    readiness: opts.readiness,
    informational: { database: () => databaseReachable(runtime.pool) },
    writeKeyHashes: config.INGESTION_WRITE_KEY_HASHES,
    publishTimeoutMs: config.INGESTION_PUBLISH_TIMEOUT_MS,
    now,
    ignoreSentAt: config.CLOCK === 'simulated',
    publish: async (records) => {
      await runtime.producer.send({ topic: topicName(runtime.prefix, 'commerceEvents'), acks: -1, messages: records });
    },
    metrics,
    serviceToken: runtime.serviceToken,
  });
  installOperatorApi(app, runtime, { groups: [ingestionConsumerGroup], metrics });
  // The time of receipt calls get: with CLOCK=simulated, the scheduler's clock as followed here.
  app.get('/admin/clock', async () => ({ now: now().toISOString(), mode: config.CLOCK }));
  return app;
}
