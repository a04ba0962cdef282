import { join } from 'node:path';

// What other packages may use of the messaging service (benchmarks): the service as a whole, its
// configuration, its migrations and its webhook verification. Its commands are `./commands`, its template catalog `./templates`.
export { startMessaging, type Messaging } from './service.ts';
export { loadConfig, MessagingConfig } from './config.ts';
/** How messaging checks SendGrid's signed Event Webhook, for tools that sign as SendGrid does. */
export { parseWebhookPublicKey, verifyWebhookSignature } from './domain/webhook-signature.ts';
/** Where the outbox transport writes a message, and the message it writes: for tools that read mail from the outbox (the demo reads its coupon codes). */
export { outboxFileName } from './transport/outbox-transport.ts';
export { buildEml } from './domain/eml-message.ts';

/** The service's drizzle migrations, for `openRuntime`. */
export const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
