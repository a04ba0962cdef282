import { join } from 'node:path';

// What other packages may use of the messaging service (benchmarks): the service as a whole, its
// configuration and its migrations. Its commands are `./commands`, its template catalog `./templates`.
export { startMessaging, type Messaging } from './service.ts';
export { loadConfig, MessagingConfig } from './config.ts';

/** The service's drizzle migrations, for `openRuntime`. */
export const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
