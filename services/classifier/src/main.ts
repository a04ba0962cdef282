import { join } from 'node:path';
import { runServiceMain } from '@lifecycle/kit';
import { loadConfig, rfmWorkerSettings } from './config.ts';
import { classifierService } from './service.ts';
import { loadThresholds } from './thresholds-file.ts';

await runServiceMain({
  service: 'classifier',
  schema: 'classifier',
  // Its name until the schemas were named for their services.
  previousSchemaNames: ['lifecycle'],
  migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  loadConfig,
  readFiles: (config) => loadThresholds(config.LIFECYCLE_CONFIG),
  build: (runtime, config, thresholds) => classifierService(runtime, thresholds, rfmWorkerSettings(config)),
});
