import { join } from 'node:path';
import { openRuntime, runMain, serve } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { buildScheduler } from './app.ts';
import { loadCampaigns } from './campaign-files.ts';
import { simulatedClock, systemClock } from './domain/clock.ts';

await runMain('scheduler', async () => {
  const config = loadConfig(process.env);
  const campaigns = await loadCampaigns(config.CAMPAIGNS_DIR);
  const runtime = await openRuntime({
    service: 'scheduler',
    config,
    schema: 'scheduling',
    migrationsFolder: join(import.meta.dirname, '..', 'drizzle'),
  });
  runtime.logger.info({ campaigns: campaigns.map((c) => c.id), clock: config.CLOCK }, 'campaigns loaded');
  const simulated = config.CLOCK === 'simulated' ? simulatedClock(new Date()) : undefined;
  const { app, consumers, runner } = await buildScheduler({
    runtime,
    campaigns,
    clock: simulated ?? systemClock,
    simulated,
    pollMs: config.SCHEDULER_POLL_MS,
  });
  await serve({ runtime, app, host: config.HOST, port: config.PORT, consumers, background: [runner] });
});
