import { join } from 'node:path';
import { runServiceMain, serviceClock } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { ingestionService } from './service.ts';

await runServiceMain({
  service: 'ingestion',
  schema: 'ingestion',
  migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  loadConfig,
  readFiles: async () => undefined,
  build: (runtime, config) => {
    // With CLOCK=simulated the time of receipt is the scheduler's clock: a backdated year is received as it happens.
    const clock = serviceClock(runtime, config.CLOCK);
    const service = ingestionService(runtime, config, clock.now);
    return { ...service, components: [...clock.components, ...service.components] };
  },
});
