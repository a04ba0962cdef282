import { join } from 'node:path';
import { openRuntime, runMain, runService } from '@lifecycle/kit';
import { loadConfig, rfmWorkerSettings } from './config.ts';
import { classifierService } from './service.ts';
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
  const { app, components } = classifierService(runtime, thresholds, rfmWorkerSettings(config));
  await runService({ runtime, app, components, host: config.HOST, port: config.PORT });
});
