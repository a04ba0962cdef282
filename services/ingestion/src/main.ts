import { join } from 'node:path';
import { openRuntime, runMain, runService } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { ingestionService } from './service.ts';

await runMain('ingestion', async () => {
  const config = loadConfig(process.env);
  const runtime = await openRuntime({
    service: 'ingestion',
    config,
    schema: 'ingestion',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  const { app, components } = ingestionService(runtime, config);
  await runService({ runtime, app, components, host: config.HOST, port: config.PORT });
});
