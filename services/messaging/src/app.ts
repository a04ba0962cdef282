import { createServiceApp, type ConsumerGroupRef, type FastifyInstance, type Logger, type Outbox, type Readiness, type Registry, type Runtime } from '@lifecycle/kit';
import type { MessagingConfig } from './config.ts';
import type { ConsentKeeper } from './consent-keeper.ts';
import type { Coupons } from './coupons.ts';
import { couponRoutes } from './http/coupon-routes.ts';
import type { SendsRepository } from './db/sends-repository.ts';
import { parseWebhookPublicKey } from './domain/webhook-signature.ts';
import { previewRoutes } from './http/preview-routes.ts';
import { privacyRoutes } from './http/privacy-routes.ts';
import { readRoutes } from './http/read-routes.ts';
import { sendGridWebhookRoutes } from './http/sendgrid-webhook-routes.ts';
import { unsubscribeRoutes } from './http/unsubscribe-routes.ts';
import { confirmRoutes, preferenceRoutes } from './http/preference-routes.ts';
import type { ConsentSettings } from '@lifecycle/contracts';
import type { MessagingMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import type { MailTransport } from './transport/mail-transport.ts';
import { createOutboxTransport } from './transport/outbox-transport.ts';
import { createSendGridTransport } from './transport/sendgrid-transport.ts';
import type { UnsubscribeTokens } from './unsubscribe-tokens.ts';

/** Messaging's consumer groups, whose lag `GET /metrics` shows. */
export const messagingConsumerGroups = {
  requests: { groupId: 'lifecycle-messaging', topic: 'messagesRequested' },
  /** `lifecycle.events`, read once for what messaging learns there: consent (Email Subscribed/Unsubscribed) and coupon redemptions. */
  consentEvents: { groupId: 'lifecycle-messaging-unsubscribes', topic: 'lifecycleEvents' },
} as const satisfies Record<string, ConsumerGroupRef>;

export type MessagingSettings = Omit<MessagingConfig, 'KAFKA_BROKERS' | 'DATABASE_URL' | 'LOG_LEVEL' | 'TOPIC_PREFIX' | 'HOST' | 'PORT'>;

/** SendGrid when an API key is configured, otherwise .eml files in the outbox folder. */
export function selectTransport(config: MessagingSettings, logger: Logger, now: () => Date): MailTransport {
  if (config.SENDGRID_API_KEY !== undefined) {
    logger.info({ transport: 'sendgrid', baseUrl: config.SENDGRID_BASE_URL }, 'mail transport selected');
    return createSendGridTransport({ apiKey: config.SENDGRID_API_KEY, baseUrl: config.SENDGRID_BASE_URL, timeoutMs: config.SENDGRID_TIMEOUT_MS, maxSockets: config.SEND_CONCURRENCY, now });
  }
  logger.info({ transport: 'outbox', outboxDir: config.OUTBOX_DIR }, 'mail transport selected');
  return createOutboxTransport({ dir: config.OUTBOX_DIR, logger, now });
}

/** What messaging's HTTP app is built from: the parts the components share with it. */
export interface MessagingAppOptions {
  runtime: Runtime;
  config: MessagingSettings;
  /** `/readyz`: the components started beside the app. */
  readiness: Readiness;
  registry: Registry;
  metrics: MessagingMetrics;
  tokens: UnsubscribeTokens | undefined;
  consent: ConsentKeeper;
  sends: SendsRepository;
  outbox: Outbox;
  coupons: Coupons;
  /** `_consent.yaml`: the preference page's topics. */
  consentSettings: ConsentSettings;
  now: () => Date;
  lagMaxAgeMs?: number;
}

/**
 * Messaging's HTTP app: health, `/metrics` (consumer lag, send outcomes), the unsubscribe pages,
 * SendGrid's Event Webhook, the template preview, the read API and its OpenAPI description at `/docs`. It starts nothing; what it commits (consent
 * changes, settled sends, webhook events) goes to the outbox the relay beside it publishes.
 */
export function createMessagingApp(opts: MessagingAppOptions): FastifyInstance {
  const { runtime, config, now } = opts;
  const app = createServiceApp(runtime, {
    readiness: opts.readiness,
    metrics: { groups: Object.values(messagingConsumerGroups), registry: opts.registry, json: opts.metrics.json, lagMaxAgeMs: opts.lagMaxAgeMs },
  });
  void app.register(unsubscribeRoutes({ tokens: opts.tokens, consent: opts.consent, now }));
  void app.register(preferenceRoutes({ tokens: opts.tokens, consent: opts.consent, settings: opts.consentSettings, db: runtime.db, now }));
  void app.register(confirmRoutes({ tokens: opts.tokens, consent: opts.consent, db: runtime.db, now }));
  void app.register(
    sendGridWebhookRoutes({
      publicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY === undefined ? undefined : parseWebhookPublicKey(config.SENDGRID_WEBHOOK_PUBLIC_KEY),
      sends: opts.sends,
      consent: opts.consent,
      outbox: opts.outbox,
      db: runtime.db,
      metrics: opts.metrics,
      now,
    }),
  );
  void app.register(previewRoutes({ dir: config.TEMPLATES_DIR }));
  void app.register(readRoutes({ db: runtime.db }));
  void app.register(couponRoutes({ coupons: opts.coupons }));
  void app.register(privacyRoutes({ pool: runtime.pool, db: runtime.db, outbox: opts.outbox, now }));
  const document = openApiDocument();
  app.get('/docs', async () => document);
  app.get('/docs/openapi.json', async () => document);
  return app;
}
