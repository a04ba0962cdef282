import { createServiceApp, startTopicConsumer, type FastifyInstance, type Logger, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import type { MessagingConfig } from './config.ts';
import { messageRequestedHandler } from './consumer.ts';
import { createSendsRepository } from './db/sends-repository.ts';
import { createTemplateCatalog } from './template-catalog.ts';
import type { MailTransport } from './transport/mail-transport.ts';
import { createOutboxTransport } from './transport/outbox-transport.ts';
import { createSendGridTransport } from './transport/sendgrid-transport.ts';

export type MessagingSettings = Pick<MessagingConfig, 'SENDGRID_API_KEY' | 'SENDGRID_BASE_URL' | 'SENDGRID_TIMEOUT_MS' | 'OUTBOX_DIR' | 'TEMPLATES_DIR'>;

export interface MessagingOptions {
  runtime: Runtime;
  config: MessagingSettings;
  /** Replaces the transport the config selects. */
  transport?: MailTransport;
  /** The clock for row timestamps, event times and outbox dates. */
  now?: () => Date;
  /** Tries of a failing record before it is dead-lettered (kit default 3). */
  maxAttempts?: number;
  /** Wait before the first retry, doubled each time (kit default 200 ms). */
  retryBackoffMs?: number;
}

export interface Messaging {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  transport: MailTransport;
}

/** SendGrid when an API key is configured, otherwise .eml files in the outbox folder. */
export function selectTransport(config: MessagingSettings, logger: Logger, now: () => Date): MailTransport {
  if (config.SENDGRID_API_KEY !== undefined) {
    logger.info({ transport: 'sendgrid', baseUrl: config.SENDGRID_BASE_URL }, 'mail transport selected');
    return createSendGridTransport({ apiKey: config.SENDGRID_API_KEY, baseUrl: config.SENDGRID_BASE_URL, timeoutMs: config.SENDGRID_TIMEOUT_MS });
  }
  logger.info({ transport: 'outbox', outboxDir: config.OUTBOX_DIR }, 'mail transport selected');
  return createOutboxTransport({ dir: config.OUTBOX_DIR, logger, now });
}

/** Builds the messaging service on an open runtime: the `messages.requested` consumer and the HTTP app. */
export async function buildMessaging(opts: MessagingOptions): Promise<Messaging> {
  const { runtime, config } = opts;
  const now = opts.now ?? (() => new Date());
  const transport = opts.transport ?? selectTransport(config, runtime.logger, now);
  const handle = messageRequestedHandler({
    sends: createSendsRepository(runtime.db),
    templates: createTemplateCatalog({ dir: config.TEMPLATES_DIR }),
    transport,
    producer: runtime.producer,
    prefix: runtime.prefix,
    logger: runtime.logger,
    now,
  });
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    groupId: 'lifecycle-messaging',
    topic: 'messagesRequested',
    logger: runtime.logger,
    handle,
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.retryBackoffMs === undefined ? {} : { retryBackoffMs: opts.retryBackoffMs }),
  });
  const consumers = [consumer];
  return { app: createServiceApp(runtime, () => consumers), consumers, transport };
}
