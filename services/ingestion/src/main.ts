import { join } from 'node:path';
import { openRuntime, runMain, serve } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { buildIngestion } from './app.ts';

await runMain('ingestion', async () => {
  const config = loadConfig(process.env);
  const runtime = await openRuntime({
    service: 'ingestion',
    config,
    schema: 'ingestion',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  const { app, consumers, background } = await buildIngestion(runtime, config);
  await serve({ runtime, app, host: config.HOST, port: config.PORT, consumers, background });
});
