import { join } from 'node:path';
import { openRuntime, runMain, runService } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { messagingService } from './service.ts';

await runMain('messaging', async () => {
  const config = loadConfig(process.env);
  const runtime = await openRuntime({
    service: 'messaging',
    config,
    schema: 'messaging',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  const { app, components } = messagingService({ runtime, config });
  await runService({ runtime, app, components, host: config.HOST, port: config.PORT });
});
