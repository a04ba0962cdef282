import { join } from 'node:path';
import { runServiceMain } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { loadCampaigns } from './campaign-files.ts';
import { loadCurrencyRates } from './currency-rates-file.ts';
import { simulatedClock, systemClock } from './domain/clock.ts';
import { schedulerService } from './service.ts';

await runServiceMain({
  service: 'scheduler',
  schema: 'scheduler',
  // Its name until the schemas were named for their services.
  previousSchemaNames: ['scheduling'],
  migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  loadConfig,
  readFiles: async (config) => ({ ...(await loadCampaigns(config.CAMPAIGNS_DIR, config.CONSENT_FILE)), rates: await loadCurrencyRates(config.LIFECYCLE_CONFIG) }),
  build: (runtime, config, { campaigns, settings, sources, rates }) => {
    runtime.logger.info({ campaigns: campaigns.filter((c) => c.enabled).map((c) => c.id), disabled: campaigns.filter((c) => !c.enabled).map((c) => c.id), clock: config.CLOCK }, 'campaigns loaded');
    const simulated = config.CLOCK === 'simulated' ? simulatedClock(config.CLOCK_START === undefined ? new Date() : new Date(config.CLOCK_START)) : undefined;
    return schedulerService({
      runtime,
      campaigns,
      sources,
      settings,
      rates,
      clock: simulated ?? systemClock,
      simulated,
      resumeClock: true,
      pollMs: config.SCHEDULER_POLL_MS,
      batchSize: config.SCHEDULER_BATCH_SIZE,
      catalog: { halfLifeDays: config.CATALOG_HALF_LIFE_DAYS, minSupport: config.CATALOG_MIN_SUPPORT, minReorderSamples: config.CATALOG_MIN_REORDER_SAMPLES },
      processedRetentionDays: config.SCHEDULER_PROCESSED_RETENTION_DAYS,
      jobRetentionDays: config.SCHEDULER_JOB_RETENTION_DAYS,
      purgeIntervalMs: config.SCHEDULER_PURGE_INTERVAL_MS,
    });
  },
});
