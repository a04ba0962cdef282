import { join } from 'node:path';
import { openRuntime, runMain, serve } from '@lifecycle/kit';
import { buildMessaging } from './app.ts';
import { loadConfig } from './config.ts';

await runMain('messaging', async () => {
  const config = loadConfig(process.env);
  const runtime = await openRuntime({
    service: 'messaging',
    config,
    schema: 'messaging',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  const { app, consumers, outbox } = await buildMessaging({ runtime, config });
  // Consumers stop first, then the relay publishes what they committed last.
  await serve({ runtime, app, host: config.HOST, port: config.PORT, consumers, background: [outbox] });
});
