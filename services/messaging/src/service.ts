import { setTimeout as sleep } from 'node:timers/promises';
import { componentGroup, componentReadiness, consumerComponent, createMetricsRegistry, createOutbox, outboxRelay, readContract, startConsumer, startInProcess, startStep, topicConsumerComponent, type ConsumerComponent, type FastifyInstance, type InProcess, type Outbox, type Runtime, type ServiceParts } from '@lifecycle/kit';
import { createMessagingApp, messagingConsumerGroups, selectTransport, type MessagingSettings } from './app.ts';
import { createConsentKeeper, type ConsentKeeper } from './consent-keeper.ts';
import { loadConsentSettings } from './consent-settings.ts';
import { createCoupons, loadCouponPools, type Coupons } from './coupons.ts';
import { createCouponsRepository } from './db/coupons-repository.ts';
import { messageRequestedHandler } from './consumer.ts';
import { createAddressIdsRepository } from './db/address-ids-repository.ts';
import { createConsentRepository } from './db/consent-repository.ts';
import { createSendsRepository } from './db/sends-repository.ts';
import { createSuppressionsRepository } from './db/suppressions-repository.ts';
import { enqueueLegacyRecords } from './legacy-records.ts';
import { createMessagingMetrics, type MessagingMetrics } from './metrics.ts';
import { createSendPacer } from './send-pacer.ts';
import { createSendSlots } from './send-slots.ts';
import { createTemplateCatalog } from './template-catalog.ts';
import type { MailTransport } from './transport/mail-transport.ts';
import { consentEventHandler } from './unsubscribe-consumer.ts';
import { erasedAddressCheck, privacyConsumer } from './privacy.ts';
import { privacyResponsesConsumer } from './privacy-coordinator.ts';
import { createUnsubscribeTokens } from './unsubscribe-tokens.ts';

/** `messages.requested` records handled as one batch: claimed, marked and recorded a statement per step. */
const REQUESTS_PER_CHUNK = 200;

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

export interface MessagingService extends ServiceParts<FastifyInstance> {
  /** The `messages.requested` consumer and the `lifecycle.events` consumers of consent events and coupon redemptions. */
  consumers: ConsumerComponent[];
  transport: MailTransport;
  metrics: MessagingMetrics;
  /** The owner of consent: records changes (for `consent.changes`, through the outbox), lifts blocks. */
  consent: ConsentKeeper;
  /**
   * Where every record messaging makes waits for the relay, written in the transaction of the
   * state change behind it: consent changes, outcomes' statuses, webhook events, released requests.
   */
  outbox: Outbox;
  /** Coupon pools, codes handed out with offers, redemptions. */
  coupons: Coupons;
}

/**
 * Messaging on an open runtime, built but not started: the HTTP app, and its components in
 * start-up order — moving what an older version left unpublished into the outbox, the outbox
 * relay, then the `messages.requested` consumer and the `lifecycle.events` consumer that records
 * `Email Subscribed`/`Unsubscribed` (joining side by side). Shutdown runs them backwards: the
 * consumers stop (ending the handler's waits), then the relay publishes what they committed.
 */
export function messagingService(opts: MessagingOptions): MessagingService {
  const { runtime, config } = opts;
  const now = opts.now ?? (() => new Date());
  const stopping = new AbortController();
  const wait = async (ms: number): Promise<void> => {
    if (opts.sleep !== undefined) await opts.sleep(ms);
    else await sleep(ms, undefined, { signal: stopping.signal });
    stopping.signal.throwIfAborted();
  };
  const transport = opts.transport ?? selectTransport(config, runtime.logger, now);
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'messaging', prefix: runtime.prefix, logger: runtime.logger, now, stampWithClock: config.CLOCK === 'simulated' });
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

  const coupons = createCoupons({
    repository: createCouponsRepository({ db: runtime.db, pool: runtime.pool }),
    pools: loadCouponPools(config.COUPONS_FILE),
    secret: config.COUPON_SECRET,
    logger: runtime.logger,
    registry,
  });
  if (config.COUPON_SECRET === undefined && Object.values(coupons.pools).some((p) => p.kind === 'generated')) {
    runtime.logger.warn('COUPON_SECRET is not set: mail whose offer takes a code from a generated pool will be failed');
  }
  const handler = messageRequestedHandler({
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
    slots: createSendSlots(config.SEND_CONCURRENCY),
    reportAtRequestTime: config.CLOCK === 'simulated',
    coupons,
    erased: erasedAddressCheck(runtime.db),
  });
  const retries = {
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.retryBackoffMs === undefined ? {} : { retryBackoffMs: opts.retryBackoffMs }),
    ...(opts.outagePauseMs === undefined ? {} : { outagePauseMs: opts.outagePauseMs }),
  };
  const requests = consumerComponent(messagingConsumerGroups.requests.groupId, () =>
    startConsumer({
      kafka: runtime.kafka,
      producer: runtime.producer,
      prefix: runtime.prefix,
      groupId: messagingConsumerGroups.requests.groupId,
      topic: 'messagesRequested',
      logger: runtime.logger,
      pool: runtime.pool,
      read: readContract('messagesRequested'),
      // A chunk commits in steps of its own (claims, `sending`, outcomes), a statement per step for
      // the whole chunk. No lanes: a partition's chunks run one after another, and the handler keeps
      // each customer's mail in order while it calls the provider for several customers at once
      // (up to SEND_CONCURRENCY calls open across the process). A record retried alone takes `handle`.
      chunkSize: REQUESTS_PER_CHUNK,
      handleWithOwnCommits: async (items) => {
        const [only] = items;
        if (items.length === 1 && only !== undefined) return handler.handle(only.value, only.record);
        return handler.handleBatch(items);
      },
      // Stopping ends the handler's waits (rate limits, retries) too: the key is left `claimed`.
      stopping,
      ...retries,
    }),
  );
  const consentSettings = loadConsentSettings(config.CONSENT_FILE);
  const consentEvents = consentEventHandler({ consent, logger: runtime.logger, doubleOptIn: consentSettings.doubleOptIn, tokens, publicUrl: config.PUBLIC_URL, now });
  const unsubscribes = topicConsumerComponent({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: messagingConsumerGroups.consentEvents.groupId,
    topic: messagingConsumerGroups.consentEvents.topic,
    logger: runtime.logger,
    // One read of the whole topic for both: consent changes and coupon redemptions (each idempotent, so a retry of the pair is safe).
    handle: async (event, record) => {
      await consentEvents(event, record);
      await coupons.handleEvent(event);
    },
    // A consent event (or an order with a code) published before this service first started must still count.
    fromBeginning: true,
    ...retries,
  });
  const consumers = [requests, unsubscribes, privacyConsumer(runtime, outbox), privacyResponsesConsumer(runtime, now)];
  const components = [
    // Before the consumers start: what messaging left unpublished before it had this outbox goes into it.
    startStep('records from before the outbox', () => enqueueLegacyRecords({ pool: runtime.pool, outbox, now: now(), logger: runtime.logger })),
    outboxRelay(outbox),
    componentGroup('consumers', consumers),
  ];
  const app = createMessagingApp({
    runtime,
    config,
    readiness: componentReadiness(components),
    registry,
    metrics,
    tokens,
    consent,
    sends,
    outbox,
    coupons,
    consentSettings,
    now,
    ...(opts.lagMaxAgeMs === undefined ? {} : { lagMaxAgeMs: opts.lagMaxAgeMs }),
  });
  return { app, components, consumers, transport, metrics, consent, outbox, coupons };
}

export type Messaging = InProcess<MessagingService>;

/** Messaging started in this process (tests, benchmarks): drive `app` with `inject()`, end with `stop()`. */
export function startMessaging(opts: MessagingOptions): Promise<Messaging> {
  return startInProcess(messagingService(opts), opts.runtime.logger);
}
