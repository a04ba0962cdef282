import { clockSet, type CurrencyRates } from '@lifecycle/contracts';
import { componentGroup, componentReadiness, createOutbox, followClock, publish, intervalTask, outboxRelay, startInProcess, startStep, topicConsumerComponent, type ConsumerComponent, type FastifyInstance, type InProcess, type Outbox, type Runtime, type ServiceParts } from '@lifecycle/kit';
import { createSchedulerApp } from './app.ts';
import { consentChangeHandler, lifecycleBatchHandler, lifecycleEventHandler, messageEventHandler, messageEventsBatchHandler, stageChangeHandler, stageChangesBatchHandler, type PlanningOptions } from './consumer.ts';
import { purgeProcessedEvents, purgeSettledJobs } from './db/purge.ts';
import type { CampaignSource } from './campaign-files.ts';
import type { CatalogSettings } from './db/catalog-repository.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import type { Clock, SimulatedClock } from './domain/clock.ts';
import { createJobRunner, type JobRunner } from './job-runner.ts';
import { reconcileAtStartup } from './startup-reconciliation.ts';
import { timerRequestHandler, timerRequestsBatchHandler } from './timers.ts';
import { privacyConsumer } from './privacy.ts';

export interface SchedulerOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  /** The campaigns' files, for `GET /campaigns/:id`. */
  sources?: CampaignSource[] | undefined;
  settings: CampaignSettings;
  /** The store's exchange rates (`currencies` in config/lifecycle.yaml); unset: never converted. */
  rates?: CurrencyRates | undefined;
  clock: Clock;
  /** Present in simulated-clock mode only: enables POST /admin/clock, whose moves are published on `system.clock`. */
  simulated?: SimulatedClock | undefined;
  /** Simulated mode: start from the clock last published if it is later (the system's time never runs backwards). */
  resumeClock?: boolean;
  pollMs: number;
  /** Jobs claimed per transaction. */
  batchSize?: number;
  /** How the product catalog learns (`CATALOG_*`); default: half-life 90 days, support 2, 5 reorder samples. */
  catalog?: CatalogSettings | undefined;
  /** Processed-record ids older than this many days are purged (wall time). */
  processedRetentionDays?: number;
  /** Settled jobs (sent, skipped, cancelled) older than this many days are purged. */
  jobRetentionDays?: number;
  purgeIntervalMs?: number;
}

export interface SchedulerService extends ServiceParts<FastifyInstance> {
  consumers: ConsumerComponent[];
  runner: JobRunner;
  /** Where the runner's requests and fired timers wait for the relay. */
  outbox: Outbox;
}

/**
 * The scheduler on an open runtime, built but not started: the HTTP app, and its components in
 * start-up order — the outbox relay; the start-up reconciliation (disabled campaigns' jobs
 * cancelled, date campaigns planned) before anything plans or fires; the job runner; the five
 * consumers (joining side by side); the purges. Shutdown runs them backwards: the consumers stop
 * before the runner, whose run they may have asked for, and both before the relay, which then
 * publishes what they enqueued.
 */
export function schedulerService(opts: SchedulerOptions): SchedulerService {
  const { runtime, campaigns, clock, settings } = opts;
  const { logger } = runtime;
  // With a simulated clock, its records carry the scheduler's time: a fired timer "arrives" when it fires.
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'scheduler', prefix: runtime.prefix, logger, now: clock.now, stampWithClock: opts.simulated !== undefined });
  const runner = createJobRunner({
    runtime,
    outbox,
    clock,
    ...(opts.simulated !== undefined ? { firing: opts.simulated.firing } : {}),
    campaigns,
    settings,
    rates: opts.rates,
    catalog: opts.catalog,
    pollMs: opts.pollMs,
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
  });
  const planning: PlanningOptions = {
    runtime,
    campaigns,
    settings,
    rates: opts.rates,
    catalog: opts.catalog,
    clock,
    ...(opts.simulated !== undefined ? { firing: opts.simulated.firing } : {}),
    onPlanned: () => void runner.runDue().catch(() => 0),
  };
  const common = { kafka: runtime.kafka, producer: runtime.producer, prefix: runtime.prefix, logger, pool: runtime.pool };
  const consumers = [
    topicConsumerComponent({
      ...common,
      groupId: 'lifecycle-scheduler',
      topic: 'lifecycleEvents',
      handle: lifecycleEventHandler(planning),
      handleBatch: lifecycleBatchHandler(planning),
      batchSize: 200,
    }),
    topicConsumerComponent({ ...common, groupId: 'lifecycle-scheduler-stages', topic: 'stageChanges', handle: stageChangeHandler(planning), handleBatch: stageChangesBatchHandler(planning), batchSize: 200 }),
    topicConsumerComponent({ ...common, groupId: 'lifecycle-scheduler-message-events', topic: 'messageEvents', handle: messageEventHandler(planning), handleBatch: messageEventsBatchHandler(planning), batchSize: 500 }),
    topicConsumerComponent({ ...common, groupId: 'lifecycle-scheduler-consent', topic: 'consentChanges', handle: consentChangeHandler(planning) }),
    topicConsumerComponent({
      ...common,
      groupId: 'lifecycle-scheduler-timers',
      topic: 'timersRequested',
      handle: timerRequestHandler(runtime, planning.onPlanned),
      handleBatch: timerRequestsBatchHandler(runtime, planning.onPlanned),
      batchSize: 500,
    }),
    privacyConsumer(runtime, outbox),
  ];
  const processedRetentionDays = opts.processedRetentionDays ?? 30;
  const jobRetentionDays = opts.jobRetentionDays ?? 400;
  const onceEver = campaigns.filter((c) => c.reentry === 'once' || 'milestone' in c.trigger).map((c) => c.id);
  const purge = intervalTask({
    name: 'purge',
    everyMs: opts.purgeIntervalMs ?? 3_600_000,
    logger,
    run: async () => {
      // Processed ids are stamped with the process clock; jobs' fire times with the scheduler's.
      const deleted = await purgeProcessedEvents(runtime.db, new Date(), processedRetentionDays);
      logger.info({ deleted, retentionDays: processedRetentionDays }, 'old processed-record ids purged');
      const jobsDeleted = await purgeSettledJobs(runtime.db, clock.now(), jobRetentionDays, onceEver);
      logger.info({ deleted: jobsDeleted, retentionDays: jobRetentionDays }, 'old settled jobs purged');
    },
  });
  const { simulated } = opts;
  const publishClock = (now: Date): Promise<void> => publish(runtime.producer, runtime.prefix, 'clock', [clockSet(now, 'scheduler')]);
  const clockStep = simulated === undefined ? [] : [startStep('simulated clock', () => shareSimulatedClock(runtime, simulated, publishClock, opts.resumeClock === true))];
  const components = [...clockStep, outboxRelay(outbox), startStep('start-up reconciliation', () => reconcileAtStartup(planning)), runner, componentGroup('consumers', consumers), purge];
  const app = createSchedulerApp({ runtime, campaigns, sources: opts.sources, clock, rates: opts.rates, catalog: opts.catalog, storeCurrency: settings.storeCurrency, settings, simulated, fireDue: runner.runDue, readiness: componentReadiness(components), ...(simulated === undefined ? {} : { publishClock }) });
  return { app, components, consumers, runner, outbox };
}

/**
 * Simulated mode at start-up: reads the clock last published on `system.clock`; resumes from it
 * when it is later (`resume`), and publishes the clock the scheduler starts with, so the services
 * that follow it agree from the first moment.
 */
async function shareSimulatedClock(runtime: Runtime, simulated: SimulatedClock, publishClock: (now: Date) => Promise<void>, resume: boolean): Promise<void> {
  const follower = followClock({ kafka: runtime.kafka, prefix: runtime.prefix, logger: runtime.logger, start: simulated.now() });
  await follower.start();
  await follower.stop();
  const published = follower.now();
  if (published.getTime() > simulated.now().getTime()) {
    if (resume) {
      simulated.set(published);
      runtime.logger.info({ now: published.toISOString() }, 'simulated clock resumed from the last one published');
      return;
    }
    runtime.logger.warn({ now: simulated.now().toISOString(), published: published.toISOString() }, 'simulated clock starts before the one published; the other services keep the later one');
  }
  await publishClock(simulated.now());
}

export type Scheduler = InProcess<SchedulerService>;

/** The scheduler started in this process (tests, benchmarks): drive `app` with `inject()`, end with `stop()`. */
export function startScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  return startInProcess(schedulerService(opts), opts.runtime.logger);
}
