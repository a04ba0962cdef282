import { join } from 'node:path';
import { openRuntime, runMain, serve } from '@lifecycle/kit';
import { loadConfig, rfmWorkerSettings } from './config.ts';
import { buildClassifier } from './app.ts';
import { loadThresholds } from './thresholds-file.ts';

await runMain('classifier', async () => {
  const config = loadConfig(process.env);
  const thresholds = await loadThresholds(config.LIFECYCLE_CONFIG);
  const runtime = await openRuntime({
    service: 'classifier',
    config,
    schema: 'lifecycle',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  const { app, consumers, background } = await buildClassifier(runtime, thresholds, rfmWorkerSettings(config));
  await serve({ runtime, app, host: config.HOST, port: config.PORT, consumers, background });
});
