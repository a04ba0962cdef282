import { count, inArray, sql, sum } from 'drizzle-orm';
import { z } from 'zod';
import { toMajorUnits, type CurrencyRates } from '@lifecycle/contracts';
import { createOutbox, createServiceApp, startTopicConsumer, type ConsumerGroupRef, type Database, type FastifyInstance, type Outbox, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import { consentChangeHandler, lifecycleBatchHandler, lifecycleEventHandler, messageEventHandler, reconcileAtStartup, stageChangeHandler, type PlanningOptions } from './consumer.ts';
import { conversions, jobs } from './db/schema.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import type { Clock, SimulatedClock } from './domain/clock.ts';
import { createJobRunner, type JobRunner } from './job-runner.ts';
import { timerRequestHandler } from './timers.ts';

export interface SchedulerOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  settings: CampaignSettings;
  /** The store's exchange rates (`currencies` in config/lifecycle.yaml); unset: never converted. */
  rates?: CurrencyRates | undefined;
  clock: Clock;
  /** Present in simulated-clock mode only: enables POST /admin/clock. */
  simulated?: SimulatedClock;
  pollMs: number;
  /** Jobs claimed per transaction. */
  batchSize?: number;
  /** Processed-record ids older than this many days are purged (wall time). */
  processedRetentionDays?: number;
  /** Settled jobs (sent, skipped, cancelled) older than this many days are purged. */
  jobRetentionDays?: number;
  purgeIntervalMs?: number;
}

export interface Scheduler {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  runner: JobRunner;
  /** Where the runner's requests and fired timers wait for the relay; it stops when the app closes. */
  outbox: Outbox;
  /** The purge of old processed-record ids. */
  purge: { stop: () => Promise<void> };
}

/**
 * Deletes settled jobs fired longer ago than the retention, by the scheduler's clock, a chunk at
 * a time. Jobs that stand for "once ever" (reentry once, milestones) stay: their key is what
 * keeps a customer from entering again.
 */
export async function purgeSettledJobs(db: Database, now: Date, retentionDays: number, keepCampaigns: string[]): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  const keep = keepCampaigns.length === 0 ? sql`true` : sql`campaign_id NOT IN (${sql.join(keepCampaigns.map((id) => sql`${id}`), sql`, `)})`;
  let total = 0;
  for (;;) {
    const result = await db.execute(sql`
      DELETE FROM scheduling.jobs WHERE dedupe_key IN (
        SELECT dedupe_key FROM scheduling.jobs
        WHERE status <> 'pending' AND fired_at < ${cutoff}::timestamptz AND ${keep} LIMIT 10000)`);
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < 10_000) return total;
  }
}

/** Deletes processed-record ids older than the retention, a chunk at a time; resolves to how many. */
export async function purgeProcessedEvents(db: Database, now: Date, retentionDays: number): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  let total = 0;
  for (;;) {
    const result = await db.execute(sql`
      DELETE FROM scheduling.processed_events WHERE event_id IN (
        SELECT event_id FROM scheduling.processed_events WHERE processed_at < ${cutoff}::timestamptz LIMIT 10000)`);
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < 10_000) return total;
  }
}

const ClockBody = z.object({ now: z.iso.datetime({ offset: true }) });

interface VariantStats {
  sent: number;
  conversions: number;
  revenue: Record<string, number>;
}

/** Sends, cancellations, skips by reason, deferrals and conversions of one campaign. */
/**
 * The jobs and conversions of the given campaigns, grouped in the database: one query each for
 * any number of campaigns, so `GET /campaigns` does not read the jobs table once per campaign.
 */
async function statsRows(runtime: Runtime, campaignIds: string[]) {
  const [byStatus, converted] = await Promise.all([
    runtime.db
      .select({ campaignId: jobs.campaignId, status: jobs.status, reason: jobs.skipReason, variant: jobs.variant, jobs: count(), deferrals: sum(jobs.deferrals).mapWith(Number) })
      .from(jobs)
      .where(inArray(jobs.campaignId, campaignIds))
      .groupBy(jobs.campaignId, jobs.status, jobs.skipReason, jobs.variant),
    runtime.db
      .select({
        campaignId: conversions.campaignId,
        variant: conversions.variant,
        currency: conversions.currency,
        conversions: count(),
        // Exact integer sums of minor units; rows from before them carry major units in `revenue`.
        revenueMinor: sum(conversions.revenueMinor).mapWith(Number),
        legacyRevenue: sql<number | null>`sum(${conversions.revenue}) FILTER (WHERE ${conversions.revenueMinor} IS NULL)`.mapWith(Number),
      })
      .from(conversions)
      .where(inArray(conversions.campaignId, campaignIds))
      .groupBy(conversions.campaignId, conversions.variant, conversions.currency),
  ]);
  return (campaignId: string) => ({ byStatus: byStatus.filter((r) => r.campaignId === campaignId), converted: converted.filter((r) => r.campaignId === campaignId) });
}

/** Attributed revenue of one row of conversions in major units of its currency (API figures are major units). */
function majorRevenue(r: { currency: string | null; revenueMinor: number | null; legacyRevenue: number | null }): number {
  const minor = r.currency === null || r.revenueMinor === null ? 0 : toMajorUnits({ amountMinor: r.revenueMinor, currency: r.currency });
  return minor + (r.legacyRevenue ?? 0);
}

function campaignStats(campaign: Campaign, rows: ReturnType<Awaited<ReturnType<typeof statsRows>>>) {
  const { byStatus, converted } = rows;
  const total = (status: string) => byStatus.filter((r) => r.status === status).reduce((n, r) => n + r.jobs, 0);
  const reasons = (status: string) =>
    Object.fromEntries(
      [...new Set(byStatus.filter((r) => r.status === status).map((r) => r.reason ?? 'unknown'))].map((reason) => [
        reason,
        byStatus.filter((r) => r.status === status && (r.reason ?? 'unknown') === reason).reduce((n, r) => n + r.jobs, 0),
      ]),
    );
  const variants: Record<string, VariantStats> = {};
  const variantOf = (id: string | null) => (variants[id ?? 'default'] ??= { sent: 0, conversions: 0, revenue: {} });
  for (const r of byStatus) if (r.status === 'sent') variantOf(r.variant).sent += r.jobs;
  for (const r of converted) {
    const v = variantOf(r.variant);
    v.conversions += r.conversions;
    if (r.currency !== null) v.revenue[r.currency] = (v.revenue[r.currency] ?? 0) + majorRevenue(r);
  }
  const revenue: Record<string, number> = {};
  for (const r of converted) if (r.currency !== null) revenue[r.currency] = (revenue[r.currency] ?? 0) + majorRevenue(r);
  const statuses = [...new Set(byStatus.map((r) => r.status))];
  return {
    id: campaign.id,
    name: campaign.name,
    enabled: campaign.enabled,
    /** Jobs by status: pending, sent, skipped, cancelled, suppressed, failed. */
    jobs: Object.fromEntries(statuses.map((status) => [status, total(status)])),
    pending: total('pending'),
    /** Requested from messaging and not turned down by it: what the provider was given. */
    sent: total('sent'),
    /** Requested, then not sent by messaging because the customer's consent said no. */
    suppressed: total('suppressed'),
    /** Requested, then failed in messaging (template error, refused by the provider): not sent. */
    failed: total('failed'),
    cancelled: { total: total('cancelled'), byReason: reasons('cancelled') },
    skipped: { total: total('skipped'), byReason: reasons('skipped') },
    deferredBySendWindow: byStatus.reduce((n, r) => n + (r.deferrals ?? 0), 0),
    conversions: converted.reduce((n, r) => n + r.conversions, 0),
    revenue,
    ...(campaign.goal !== undefined ? { goal: { event: campaign.goal.event, withinMs: campaign.goal.within } } : {}),
    variants,
  };
}

/** The scheduler's consumer groups, whose lag `GET /metrics` shows. */
export const schedulerConsumerGroups: readonly ConsumerGroupRef[] = [
  { groupId: 'lifecycle-scheduler', topic: 'lifecycleEvents' },
  { groupId: 'lifecycle-scheduler-stages', topic: 'stageChanges' },
  { groupId: 'lifecycle-scheduler-message-events', topic: 'messageEvents' },
  { groupId: 'lifecycle-scheduler-consent', topic: 'consentChanges' },
  { groupId: 'lifecycle-scheduler-timers', topic: 'timersRequested' },
];

/** Builds the scheduler: its consumers, the job runner and the HTTP app. */
export async function buildScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { runtime, campaigns, clock, settings } = opts;
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'scheduling', prefix: runtime.prefix, logger: runtime.logger });
  outbox.start();
  const runner = createJobRunner({ runtime, outbox, clock, campaigns, settings, pollMs: opts.pollMs, ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}) });
  const planning: PlanningOptions = { runtime, campaigns, settings, rates: opts.rates, clock, onPlanned: () => void runner.runDue().catch(() => 0) };
  await reconcileAtStartup(planning);
  const common = { kafka: runtime.kafka, producer: runtime.producer, prefix: runtime.prefix, logger: runtime.logger, pool: runtime.pool };
  // The groups join side by side: each join waits out the broker's rebalance delay.
  const consumers = await Promise.all([
    startTopicConsumer({
      ...common,
      groupId: 'lifecycle-scheduler',
      topic: 'lifecycleEvents',
      handle: lifecycleEventHandler(planning),
      handleBatch: lifecycleBatchHandler(planning),
      batchSize: 200,
    }),
    startTopicConsumer({ ...common, groupId: 'lifecycle-scheduler-stages', topic: 'stageChanges', handle: stageChangeHandler(planning) }),
    startTopicConsumer({ ...common, groupId: 'lifecycle-scheduler-message-events', topic: 'messageEvents', handle: messageEventHandler(planning) }),
    startTopicConsumer({ ...common, groupId: 'lifecycle-scheduler-consent', topic: 'consentChanges', handle: consentChangeHandler(planning) }),
    startTopicConsumer({ ...common, groupId: 'lifecycle-scheduler-timers', topic: 'timersRequested', handle: timerRequestHandler(runtime, planning.onPlanned) }),
  ]);
  const app = createServiceApp(runtime, () => consumers, { groups: schedulerConsumerGroups });
  // After the runner and consumers have stopped (the shutdown path closes the app after them): what they enqueued goes out.
  app.addHook('onClose', () => outbox.stop());

  app.get('/campaigns', async () => {
    const rowsOf = await statsRows(runtime, campaigns.map((c) => c.id));
    return {
      now: clock.now().toISOString(),
      campaigns: campaigns.map((c) => {
        const stats = campaignStats(c, rowsOf(c.id));
        return {
          id: c.id,
          name: c.name,
          enabled: c.enabled,
          template: c.template,
          ...(c.variants !== undefined ? { variants: c.variants } : {}),
          category: c.category,
          trigger: c.trigger,
          delay: c.delay,
          jobs: stats.jobs,
          sent: stats.sent,
          suppressed: stats.suppressed,
          failed: stats.failed,
          cancelled: stats.cancelled.total,
          skipped: stats.skipped.total,
          conversions: stats.conversions,
          revenue: stats.revenue,
        };
      }),
    };
  });

  app.get<{ Params: { id: string } }>('/campaigns/:id/stats', async (request, reply) => {
    const campaign = campaigns.find((c) => c.id === request.params.id);
    if (campaign === undefined) return reply.status(404).send({ error: `no campaign "${request.params.id}"; GET /campaigns lists them` });
    return campaignStats(campaign, (await statsRows(runtime, [campaign.id]))(campaign.id));
  });

  app.get('/admin/clock', async () => ({ now: clock.now().toISOString(), mode: opts.simulated ? 'simulated' : 'system' }));
  app.post('/admin/clock', async (request, reply) => {
    if (opts.simulated === undefined) return reply.status(404).send({ error: 'the clock can be set only when the scheduler runs with CLOCK=simulated' });
    const { now } = ClockBody.parse(request.body);
    const moved = opts.simulated.set(new Date(now));
    if (!moved.ok) return reply.status(409).send({ error: moved.reason });
    // Answer once everything due by the new time has been fired, so callers can rely on it.
    const fired = await runner.runDue();
    runtime.logger.info({ now: clock.now().toISOString(), fired }, 'clock set');
    return { now: clock.now().toISOString(), fired };
  });

  const retentionDays = opts.processedRetentionDays ?? 30;
  const purge = async (): Promise<void> => {
    try {
      const deleted = await purgeProcessedEvents(runtime.db, new Date(), retentionDays);
      runtime.logger.info({ deleted, retentionDays }, 'old processed-record ids purged');
      const jobRetentionDays = opts.jobRetentionDays ?? 400;
      const onceEver = campaigns.filter((c) => c.reentry === 'once' || 'milestone' in c.trigger).map((c) => c.id);
      const jobsDeleted = await purgeSettledJobs(runtime.db, clock.now(), jobRetentionDays, onceEver);
      runtime.logger.info({ deleted: jobsDeleted, retentionDays: jobRetentionDays }, 'old settled jobs purged');
    } catch (err) {
      runtime.logger.error({ err }, 'processed-record purge failed');
    }
  };
  void purge();
  const purgeTimer = setInterval(() => void purge(), opts.purgeIntervalMs ?? 3_600_000);
  purgeTimer.unref();

  runner.start();
  return { app, consumers, runner, outbox, purge: { stop: async () => clearInterval(purgeTimer) } };
}
