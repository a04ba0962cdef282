import { join } from 'node:path';
import { openRuntime, runMain, runService } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { loadCampaigns } from './campaign-files.ts';
import { loadCurrencyRates } from './currency-rates-file.ts';
import { simulatedClock, systemClock } from './domain/clock.ts';
import { schedulerService } from './service.ts';

await runMain('scheduler', async () => {
  const config = loadConfig(process.env);
  const { campaigns, settings } = await loadCampaigns(config.CAMPAIGNS_DIR);
  const rates = await loadCurrencyRates(config.LIFECYCLE_CONFIG);
  const runtime = await openRuntime({
    service: 'scheduler',
    config,
    schema: 'scheduling',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  runtime.logger.info({ campaigns: campaigns.filter((c) => c.enabled).map((c) => c.id), disabled: campaigns.filter((c) => !c.enabled).map((c) => c.id), clock: config.CLOCK }, 'campaigns loaded');
  const simulated = config.CLOCK === 'simulated' ? simulatedClock(config.CLOCK_START === undefined ? new Date() : new Date(config.CLOCK_START)) : undefined;
  const { app, components } = schedulerService({
    runtime,
    campaigns,
    settings,
    rates,
    clock: simulated ?? systemClock,
    simulated,
    pollMs: config.SCHEDULER_POLL_MS,
    batchSize: config.SCHEDULER_BATCH_SIZE,
    processedRetentionDays: config.SCHEDULER_PROCESSED_RETENTION_DAYS,
    jobRetentionDays: config.SCHEDULER_JOB_RETENTION_DAYS,
    purgeIntervalMs: config.SCHEDULER_PURGE_INTERVAL_MS,
  });
  await runService({ runtime, app, components, host: config.HOST, port: config.PORT });
});
