import { join } from 'node:path';
import { runServiceMain } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { messagingService } from './service.ts';

// Templates are read when a message needs one (and checked by ./lifecycle templates:check).
await runServiceMain({
  service: 'messaging',
  schema: 'messaging',
  migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  loadConfig,
  readFiles: async () => undefined,
  build: (runtime, config) => messagingService({ runtime, config }),
});
