import { join } from 'node:path';

// What other packages may use of the messaging service (benchmarks): the service as a whole, its
// configuration, its migrations and its webhook verification. Its commands are `./commands`, its template catalog `./templates`.
export { startMessaging, type Messaging } from './service.ts';
export { loadConfig, MessagingConfig } from './config.ts';
/** How messaging checks SendGrid's signed Event Webhook, for tools that sign as SendGrid does. */
export { parseWebhookPublicKey, verifyWebhookSignature } from './domain/webhook-signature.ts';

/** The service's drizzle migrations, for `openRuntime`. */
export const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
