import { setTimeout as sleep } from 'node:timers/promises';
import { createMetricsRegistry, createOutbox, createServiceApp, readContract, startConsumer, startTopicConsumer, type ConsumerGroupRef, type FastifyInstance, type Logger, type Outbox, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import type { MessagingConfig } from './config.ts';
import { createConsentKeeper, type ConsentKeeper } from './consent-keeper.ts';
import { messageRequestedHandler } from './consumer.ts';
import { createAddressIdsRepository } from './db/address-ids-repository.ts';
import { createConsentRepository } from './db/consent-repository.ts';
import { createSendsRepository } from './db/sends-repository.ts';
import { createSuppressionsRepository } from './db/suppressions-repository.ts';
import { parseWebhookPublicKey } from './domain/webhook-signature.ts';
import { previewRoutes } from './http/preview-routes.ts';
import { sendGridWebhookRoutes } from './http/sendgrid-webhook-routes.ts';
import { unsubscribeRoutes } from './http/unsubscribe-routes.ts';
import { enqueueLegacyRecords } from './legacy-records.ts';
import { createMessagingMetrics, type MessagingMetrics } from './metrics.ts';
import { createSendPacer } from './send-pacer.ts';
import { createTemplateCatalog } from './template-catalog.ts';
import type { MailTransport } from './transport/mail-transport.ts';
import { createOutboxTransport } from './transport/outbox-transport.ts';
import { createSendGridTransport } from './transport/sendgrid-transport.ts';
import { consentEventHandler } from './unsubscribe-consumer.ts';
import { createUnsubscribeTokens } from './unsubscribe-tokens.ts';

/** Messaging's consumer groups, whose lag `GET /metrics` shows. */
export const messagingConsumerGroups = {
  requests: { groupId: 'lifecycle-messaging', topic: 'messagesRequested' },
  consentEvents: { groupId: 'lifecycle-messaging-unsubscribes', topic: 'lifecycleEvents' },
} as const satisfies Record<string, ConsumerGroupRef>;

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
  /** Ceiling of the wait before a failing record's first retry, doubled each time, full jitter (kit default 200 ms). */
  retryBackoffMs?: number;
  /** How long a partition pauses when Kafka or the database is down (default 5 s). */
  outagePauseMs?: number;
  /** `GET /metrics` reads consumer lag again once its figures are older than this (default 10 s). */
  lagMaxAgeMs?: number;
}

export interface Messaging {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  transport: MailTransport;
  metrics: MessagingMetrics;
  /** The owner of consent: records changes (for `consent.changes`, through the outbox), lifts blocks. */
  consent: ConsentKeeper;
  /**
   * Where every record messaging makes waits for the relay, written in the transaction of the
   * state change behind it: consent changes, outcomes' statuses, webhook events, released requests.
   */
  outbox: Outbox;
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
 * `lifecycle.events` consumer that records `Email Subscribed`/`Unsubscribed`, the consent keeper,
 * the outbox relay that publishes what they and the HTTP app (unsubscribe pages, SendGrid's event
 * webhook, metrics) commit to messaging's outbox, after moving in what was left from before it.
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
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'messaging', prefix: runtime.prefix, logger: runtime.logger, now });
  // Before the consumers start: what messaging left unpublished before it had this outbox goes into it.
  await enqueueLegacyRecords({ pool: runtime.pool, outbox, now: now(), logger: runtime.logger });
  outbox.start();
  const sends = createSendsRepository({ db: runtime.db, pool: runtime.pool, outbox });
  const suppressions = createSuppressionsRepository(runtime.db);
  const registry = createMetricsRegistry();
  const metrics = createMessagingMetrics({ registry, byStatus: sends.countByStatus, logger: runtime.logger });
  const consent = createConsentKeeper({ repository: createConsentRepository({ db: runtime.db, pool: runtime.pool, outbox }), suppressions, logger: runtime.logger, now });
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
    consent,
    templates: createTemplateCatalog({ dir: config.TEMPLATES_DIR }),
    transport,
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
  const requests = await startConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    groupId: messagingConsumerGroups.requests.groupId,
    topic: 'messagesRequested',
    logger: runtime.logger,
    pool: runtime.pool,
    read: readContract('messagesRequested'),
    // Each request commits in steps of its own (claim, mark sending, record the outcome), one at a
    // time per customer so their mail goes out in order, several customers at once.
    chunkSize: 1,
    lanes: { concurrency: config.SEND_CONCURRENCY },
    handleWithOwnCommits: async (items) => {
      for (const { value, record } of items) await handle(value, record);
    },
    // Stopping ends the handler's waits (rate limits, retries) too: the key is left `claimed`.
    stopping,
    ...retries,
  });
  const unsubscribes = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: messagingConsumerGroups.consentEvents.groupId,
    topic: messagingConsumerGroups.consentEvents.topic,
    logger: runtime.logger,
    handle: consentEventHandler({ consent, logger: runtime.logger }),
    // A consent event published before this service first started must still count.
    fromBeginning: true,
    ...retries,
  });
  const consumers = [requests, unsubscribes];
  const app = createServiceApp(runtime, () => consumers, {
    groups: Object.values(messagingConsumerGroups),
    registry,
    json: metrics.json,
    lagMaxAgeMs: opts.lagMaxAgeMs,
  });
  // Also when only the app is closed (tests): the relay's connections must not outlive it.
  app.addHook('onClose', () => outbox.stop());
  await app.register(unsubscribeRoutes({ tokens, consent, now }));
  await app.register(
    sendGridWebhookRoutes({
      publicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY === undefined ? undefined : parseWebhookPublicKey(config.SENDGRID_WEBHOOK_PUBLIC_KEY),
      sends,
      consent,
      outbox,
      db: runtime.db,
      metrics,
      now,
    }),
  );
  await app.register(previewRoutes({ dir: config.TEMPLATES_DIR }));
  return { app, consumers, transport, metrics, consent, outbox };
}
