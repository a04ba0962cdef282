import { setTimeout as sleep } from 'node:timers/promises';
import { createServiceApp, startTopicConsumer, type FastifyInstance, type Logger, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import type { MessagingConfig } from './config.ts';
import { messageRequestedHandler } from './consumer.ts';
import { createAddressIdsRepository } from './db/address-ids-repository.ts';
import { createSendsRepository } from './db/sends-repository.ts';
import { createSuppressionsRepository } from './db/suppressions-repository.ts';
import { parseWebhookPublicKey } from './domain/webhook-signature.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { previewRoutes } from './http/preview-routes.ts';
import { sendGridWebhookRoutes } from './http/sendgrid-webhook-routes.ts';
import { unsubscribeRoutes } from './http/unsubscribe-routes.ts';
import { createMessagingMetrics, type MessagingMetrics } from './metrics.ts';
import { startParallelRequestConsumer } from './parallel-consumer.ts';
import { createSendPacer } from './send-pacer.ts';
import { createTemplateCatalog } from './template-catalog.ts';
import type { MailTransport } from './transport/mail-transport.ts';
import { createOutboxTransport } from './transport/outbox-transport.ts';
import { createSendGridTransport } from './transport/sendgrid-transport.ts';
import { unsubscribeEventHandler } from './unsubscribe-consumer.ts';
import { createUnsubscribeTokens } from './unsubscribe-tokens.ts';

export type MessagingSettings = Omit<MessagingConfig, 'KAFKA_BROKERS' | 'DATABASE_URL' | 'LOG_LEVEL' | 'TOPIC_PREFIX' | 'HOST' | 'PORT'>;

export interface MessagingOptions {
  runtime: Runtime;
  config: MessagingSettings;
  /** Replaces the transport the config selects. */
  transport?: MailTransport;
  /** The clock for row timestamps, event times and outbox dates. */
  now?: () => Date;
  /** Waits between provider retries and for the send pacer; tests shorten them. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), for backoff jitter. */
  random?: () => number;
  /** Tries of a failing record before it is dead-lettered (kit default 3). */
  maxAttempts?: number;
  /** Wait before the first retry, doubled each time (kit default 200 ms). */
  retryBackoffMs?: number;
  /** How long a partition pauses when Kafka or the database is down (default 5 s). */
  outagePauseMs?: number;
}

export interface Messaging {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  transport: MailTransport;
  metrics: MessagingMetrics;
}

/** SendGrid when an API key is configured, otherwise .eml files in the outbox folder. */
export function selectTransport(config: MessagingSettings, logger: Logger, now: () => Date): MailTransport {
  if (config.SENDGRID_API_KEY !== undefined) {
    logger.info({ transport: 'sendgrid', baseUrl: config.SENDGRID_BASE_URL }, 'mail transport selected');
    return createSendGridTransport({ apiKey: config.SENDGRID_API_KEY, baseUrl: config.SENDGRID_BASE_URL, timeoutMs: config.SENDGRID_TIMEOUT_MS, now });
  }
  logger.info({ transport: 'outbox', outboxDir: config.OUTBOX_DIR }, 'mail transport selected');
  return createOutboxTransport({ dir: config.OUTBOX_DIR, logger, now });
}

/**
 * Builds the messaging service on an open runtime: the `messages.requested` consumer, the
 * `lifecycle.events` consumer that records unsubscribes, and the HTTP app (unsubscribe pages,
 * SendGrid's event webhook, metrics).
 */
export async function buildMessaging(opts: MessagingOptions): Promise<Messaging> {
  const { runtime, config } = opts;
  const now = opts.now ?? (() => new Date());
  const stopping = new AbortController();
  const wait = async (ms: number): Promise<void> => {
    if (opts.sleep !== undefined) await opts.sleep(ms);
    else await sleep(ms, undefined, { signal: stopping.signal });
    stopping.signal.throwIfAborted();
  };
  const transport = opts.transport ?? selectTransport(config, runtime.logger, now);
  const sends = createSendsRepository(runtime.db);
  const suppressions = createSuppressionsRepository(runtime.db);
  const metrics = createMessagingMetrics();
  if (config.UNSUBSCRIBE_SECRET === undefined) runtime.logger.warn('UNSUBSCRIBE_SECRET is not set: marketing mail will be failed instead of sent without an unsubscribe link');
  const tokens =
    config.UNSUBSCRIBE_SECRET === undefined
      ? undefined
      : createUnsubscribeTokens({
          ids: createAddressIdsRepository(runtime.db),
          secrets: { current: config.UNSUBSCRIBE_SECRET, previous: config.UNSUBSCRIBE_SECRET_PREVIOUS },
          acceptLegacy: config.UNSUBSCRIBE_LEGACY_TOKENS === 'accept',
        });

  const handle = messageRequestedHandler({
    sends,
    suppressions,
    templates: createTemplateCatalog({ dir: config.TEMPLATES_DIR }),
    transport,
    producer: runtime.producer,
    prefix: runtime.prefix,
    logger: runtime.logger,
    now,
    retry: { maxAttempts: config.SENDGRID_MAX_ATTEMPTS, baseDelayMs: config.SENDGRID_RETRY_BASE_MS, maxDelayMs: config.SENDGRID_RETRY_MAX_MS },
    unsubscribe: { tokens, publicUrl: config.PUBLIC_URL, mailto: config.UNSUBSCRIBE_MAILTO },
    metrics,
    pace: createSendPacer({ perSecond: config.SENDGRID_SENDS_PER_SECOND, nowMs: () => Date.now(), sleep: wait }),
    sleep: wait,
    random: opts.random ?? Math.random,
  });
  const retries = {
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.retryBackoffMs === undefined ? {} : { retryBackoffMs: opts.retryBackoffMs }),
    ...(opts.outagePauseMs === undefined ? {} : { outagePauseMs: opts.outagePauseMs }),
  };
  const requests = await startParallelRequestConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    groupId: 'lifecycle-messaging',
    logger: runtime.logger,
    pool: runtime.pool,
    handle,
    concurrency: config.SEND_CONCURRENCY,
    stopping,
    ...retries,
  });
  const unsubscribes = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-messaging-unsubscribes',
    topic: 'lifecycleEvents',
    logger: runtime.logger,
    handle: unsubscribeEventHandler({ suppressions, logger: runtime.logger, now }),
    // An unsubscribe published before this service first started must still count.
    fromBeginning: true,
    ...retries,
  });
  const consumers = [requests, unsubscribes];
  const app = createServiceApp(runtime, () => consumers);
  await app.register(unsubscribeRoutes({ tokens, suppressions, now }));
  await app.register(
    sendGridWebhookRoutes({
      publicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY === undefined ? undefined : parseWebhookPublicKey(config.SENDGRID_WEBHOOK_PUBLIC_KEY),
      sends,
      suppressions,
      producer: runtime.producer,
      prefix: runtime.prefix,
      metrics,
      now,
    }),
  );
  await app.register(metricsRoute({ db: runtime.db, metrics }));
  await app.register(previewRoutes({ dir: config.TEMPLATES_DIR }));
  return { app, consumers, transport, metrics };
}
