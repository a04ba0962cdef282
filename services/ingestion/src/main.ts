import { join } from 'node:path';
import { runServiceMain } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { ingestionService } from './service.ts';

await runServiceMain({
  service: 'ingestion',
  schema: 'ingestion',
  migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  loadConfig,
  readFiles: async () => undefined,
  build: (runtime, config) => ingestionService(runtime, config),
});
