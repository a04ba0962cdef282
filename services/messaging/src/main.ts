import { join } from 'node:path';
import { runServiceMain, serviceClock } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { messagingService } from './service.ts';

// Templates are read when a message needs one (and checked by ./lifecycle templates:check).
await runServiceMain({
  service: 'messaging',
  schema: 'messaging',
  migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  loadConfig,
  readFiles: async () => undefined,
  build: (runtime, config) => {
    // With CLOCK=simulated sends, statuses and consent are stamped with the scheduler's clock.
    const clock = serviceClock(runtime, config.CLOCK);
    const service = messagingService({ runtime, config, now: clock.now });
    return { ...service, components: [...clock.components, ...service.components] };
  },
});
