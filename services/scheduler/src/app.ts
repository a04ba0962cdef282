import { and, count, countDistinct, inArray, sql, sum } from 'drizzle-orm';
import { z } from 'zod';
import { toMajorUnits, type CurrencyRates } from '@lifecycle/contracts';
import { createServiceApp, type ConsumerGroupRef, type FastifyInstance, type Readiness, type Runtime } from '@lifecycle/kit';
import type { CampaignSource } from './campaign-files.ts';
import { conversions, jobs } from './db/schema.ts';
import { CampaignSettings, type Campaign } from './domain/campaign.ts';
import { conversionRate, liftOf } from './domain/lift.ts';
import { registerMeasurementApi } from './measurement-api.ts';
import type { Clock, SimulatedClock } from './domain/clock.ts';
import { openApiDocument } from './openapi.ts';
import { registerReadApi } from './read-api.ts';
import { registerCatalogApi } from './catalog-api.ts';
import { defaultCatalogSettings, type CatalogSettings } from './db/catalog-repository.ts';

export interface SchedulerAppOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  /** The campaigns' files as in the repository, for `GET /campaigns/:id`; without them `yaml` and `file` are null. */
  sources?: CampaignSource[] | undefined;
  clock: Clock;
  /** Present in simulated-clock mode only: enables POST /admin/clock. */
  simulated?: SimulatedClock | undefined;
  /** Fires every job due by the clock (the job runner's `runDue`): POST /admin/clock answers once it has. */
  fireDue: () => Promise<number>;
  /** Publishes a move of the simulated clock on `system.clock` for the other services; the clock moves only once it is out. */
  publishClock?: (now: Date) => Promise<void>;
  /** What `/readyz` gates on besides the database: the components started beside the app. */
  readiness: Readiness;
  /** The store's exchange rates: recommendations without a price in the customer's currency are converted. */
  rates?: CurrencyRates | undefined;
  /** How the product catalog learns (recommendations, evaluation). */
  catalog?: CatalogSettings | undefined;
  /** The currency of customers with no order yet (`storeCurrency`). */
  storeCurrency?: string | undefined;
  /** The store settings: the global control and the sunset, for their stats; default: none of either. */
  settings?: CampaignSettings | undefined;
}

const CampaignParams = z.object({ id: z.string().min(1) });

/**
 * A window of `GET /campaigns`: jobs fired in it (sent, skipped, …) and conversions made in it.
 * Jobs not fired yet (pending) belong to no window.
 */
const StatsPeriod = z
  .object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() })
  .refine((p) => (p.from === undefined) === (p.to === undefined), { message: 'give both from and to, or neither', path: ['to'] })
  .refine((p) => p.from === undefined || p.to === undefined || Date.parse(p.from) < Date.parse(p.to), { message: 'from must be before to', path: ['to'] });
type StatsPeriod = { from: string; to: string };

/** Sent and skipped jobs per UTC day of their firing, oldest first. */
async function sendsByDay(runtime: Runtime, campaignId: string): Promise<{ day: string; sent: number; skipped: number }[]> {
  const rows = await runtime.db
    .select({
      day: sql<string>`to_char(${jobs.firedAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
      sent: sql<number>`count(*) FILTER (WHERE ${jobs.status} = 'sent')::int`,
      skipped: sql<number>`count(*) FILTER (WHERE ${jobs.status} = 'skipped')::int`,
    })
    .from(jobs)
    .where(sql`${jobs.campaignId} = ${campaignId} AND ${jobs.status} IN ('sent', 'skipped') AND ${jobs.firedAt} IS NOT NULL`)
    .groupBy(sql`1`)
    .orderBy(sql`1`);
  return rows;
}

const ClockBody = z.object({
  now: z.iso.datetime({ offset: true }),
  /** Walk there: hold firing until POST /admin/clock/fire, then judge each job as of its due instant. */
  walk: z.boolean().optional(),
});

interface VariantStats {
  sent: number;
  conversions: number;
  revenue: Record<string, number>;
}

/**
 * The jobs and conversions of the given campaigns, grouped in the database: one query each for
 * any number of campaigns, so `GET /campaigns` does not read the jobs table once per campaign.
 */
async function statsRows(runtime: Runtime, campaignIds: string[], period?: StatsPeriod) {
  const conversionsInPeriod = and(inArray(conversions.campaignId, campaignIds), period === undefined ? undefined : sql`${conversions.convertedAt} >= ${period.from} AND ${conversions.convertedAt} < ${period.to}`);
  const [byStatus, converted, groups, convertedCustomers] = await Promise.all([
    runtime.db
      .select({ campaignId: jobs.campaignId, status: jobs.status, reason: jobs.skipReason, variant: jobs.variant, jobs: count(), deferrals: sum(jobs.deferrals).mapWith(Number) })
      .from(jobs)
      .where(and(inArray(jobs.campaignId, campaignIds), period === undefined ? undefined : sql`${jobs.firedAt} >= ${period.from} AND ${jobs.firedAt} < ${period.to}`))
      .groupBy(jobs.campaignId, jobs.status, jobs.skipReason, jobs.variant),
    runtime.db
      .select({
        campaignId: conversions.campaignId,
        variant: conversions.variant,
        group: conversions.group,
        currency: conversions.currency,
        conversions: count(),
        // Exact integer sums of minor units; rows from before them carry major units in `revenue`.
        revenueMinor: sum(conversions.revenueMinor).mapWith(Number),
        legacyRevenue: sql<number | null>`sum(${conversions.revenue}) FILTER (WHERE ${conversions.revenueMinor} IS NULL)`.mapWith(Number),
      })
      .from(conversions)
      .where(conversionsInPeriod)
      .groupBy(conversions.campaignId, conversions.variant, conversions.group, conversions.currency),
    // The holdout's groups: distinct customers with a job sent, or held out, …
    runtime.db
      .select({
        campaignId: jobs.campaignId,
        mailed: sql<number>`count(DISTINCT ${jobs.customerId}) FILTER (WHERE ${jobs.status} = 'sent')`.mapWith(Number),
        // The campaign's own holdout only: the global control gets no marketing at all, so it would also
        // credit this campaign with what the other campaigns do (that is the programme's lift).
        heldOut: sql<number>`count(DISTINCT ${jobs.customerId}) FILTER (WHERE ${jobs.status} = 'held_out' AND ${jobs.skipReason} = 'holdout')`.mapWith(Number),
      })
      .from(jobs)
      .where(and(inArray(jobs.campaignId, campaignIds), inArray(jobs.status, ['sent', 'held_out']), period === undefined ? undefined : sql`${jobs.firedAt} >= ${period.from} AND ${jobs.firedAt} < ${period.to}`))
      .groupBy(jobs.campaignId),
    // … and of them those who converted: a conversion of a group is attributed to a job of that group.
    runtime.db
      .select({ campaignId: conversions.campaignId, group: conversions.group, customers: countDistinct(conversions.customerId) })
      .from(conversions)
      .where(conversionsInPeriod)
      .groupBy(conversions.campaignId, conversions.group),
  ]);
  const convertedOf = (campaignId: string, group: 'mailed' | 'held_out'): number => convertedCustomers.find((r) => r.campaignId === campaignId && r.group === group)?.customers ?? 0;
  return (campaignId: string) => ({
    byStatus: byStatus.filter((r) => r.campaignId === campaignId),
    converted: converted.filter((r) => r.campaignId === campaignId),
    groups: {
      mailed: groups.find((r) => r.campaignId === campaignId)?.mailed ?? 0,
      heldOut: groups.find((r) => r.campaignId === campaignId)?.heldOut ?? 0,
      mailedConverted: convertedOf(campaignId, 'mailed'),
      heldOutConverted: convertedOf(campaignId, 'held_out'),
    },
  });
}

/** Attributed revenue of one row of conversions in major units of its currency (API figures are major units). */
function majorRevenue(r: { currency: string | null; revenueMinor: number | null; legacyRevenue: number | null }): number {
  const minor = r.currency === null || r.revenueMinor === null ? 0 : toMajorUnits({ amountMinor: r.revenueMinor, currency: r.currency });
  return minor + (r.legacyRevenue ?? 0);
}

type StatsRows = ReturnType<Awaited<ReturnType<typeof statsRows>>>;

/** Revenue per customer of a group, in major units by currency. */
function revenuePerCustomer(revenue: Record<string, number>, customers: number): Record<string, number> {
  return Object.fromEntries(Object.entries(revenue).map(([currency, amount]) => [currency, customers === 0 ? 0 : Math.round((amount / customers) * 100) / 100]));
}

/**
 * A marketing campaign's mailed group against its own holdout, and the lift. Customers of the
 * global control are in neither: they get no marketing at all, so against them a campaign would be
 * credited with the whole programme's effect (`GET /programme/stats` measures that).
 */
function holdoutStats(campaign: Campaign, rows: StatsRows) {
  if (campaign.category !== 'marketing') return null;
  const { groups } = rows;
  const revenueOf = (group: 'mailed' | 'held_out'): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of rows.converted) if (r.group === group && r.currency !== null) out[r.currency] = (out[r.currency] ?? 0) + majorRevenue(r);
    return out;
  };
  const mailed = { customers: groups.mailed, converted: groups.mailedConverted };
  const heldOut = { customers: groups.heldOut, converted: groups.heldOutConverted };
  return {
    percent: campaign.holdout?.percent ?? 0,
    mailed: { ...mailed, conversionRate: conversionRate(mailed), revenuePerCustomer: revenuePerCustomer(revenueOf('mailed'), mailed.customers) },
    heldOut: { ...heldOut, conversionRate: conversionRate(heldOut), revenuePerCustomer: revenuePerCustomer(revenueOf('held_out'), heldOut.customers) },
    lift: liftOf(mailed, heldOut),
  };
}

/** Sends, cancellations, skips by reason, deferrals and conversions of one campaign. */
function campaignStats(campaign: Campaign, rows: StatsRows) {
  const { byStatus } = rows;
  // Conversions of mailed messages; the control groups' are in `holdout` and the programme's stats only.
  const converted = rows.converted.filter((r) => r.group === 'mailed');
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
    /** Jobs by status: pending, sent, skipped, cancelled, suppressed, failed, held_out. */
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
    holdout: holdoutStats(campaign, rows),
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

/**
 * The scheduler's HTTP app: health, `/metrics`, campaign stats and the clock. It starts nothing;
 * the consumers, the job runner and the purges are components started beside it.
 */
export function createSchedulerApp(opts: SchedulerAppOptions): FastifyInstance {
  const { runtime, campaigns, clock } = opts;
  const app = createServiceApp(runtime, { readiness: opts.readiness, metrics: { groups: schedulerConsumerGroups } });

  app.get('/campaigns', async (request) => {
    const { from, to } = StatsPeriod.parse(request.query);
    const period = from !== undefined && to !== undefined ? { from, to } : undefined;
    const rowsOf = await statsRows(runtime, campaigns.map((c) => c.id), period);
    return {
      now: clock.now().toISOString(),
      ...(period !== undefined ? { period } : {}),
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
          skippedByReason: stats.skipped.byReason,
          conversions: stats.conversions,
          revenue: stats.revenue,
          variantStats: stats.variants,
          holdout: stats.holdout,
        };
      }),
    };
  });

  app.get('/campaigns/:id', async (request, reply) => {
    const { id } = CampaignParams.parse(request.params);
    const campaign = campaigns.find((c) => c.id === id);
    if (campaign === undefined) return reply.status(404).send({ error: `no campaign "${id}"; GET /campaigns lists them` });
    const source = opts.sources?.find((s) => s.campaignId === id);
    const [stats, byDay] = await Promise.all([statsRows(runtime, [id]).then((rowsOf) => campaignStats(campaign, rowsOf(id))), sendsByDay(runtime, id)]);
    return {
      ...stats,
      template: campaign.template,
      templateId: campaign.template,
      category: campaign.category,
      trigger: campaign.trigger,
      delay: campaign.delay,
      // The languages the campaign's own data is translated into; the template's translations are messaging's (GET /preview/:templateId?locale=).
      locales: Object.keys(campaign.localizedData ?? {}).sort(),
      file: source?.file ?? null,
      yaml: source?.yaml ?? null,
      sendsByDay: byDay,
    };
  });

  app.get<{ Params: { id: string } }>('/campaigns/:id/stats', async (request, reply) => {
    const campaign = campaigns.find((c) => c.id === request.params.id);
    if (campaign === undefined) return reply.status(404).send({ error: `no campaign "${request.params.id}"; GET /campaigns lists them` });
    return campaignStats(campaign, (await statsRows(runtime, [campaign.id]))(campaign.id));
  });

  registerReadApi(app, { runtime, campaigns, clock });
  registerMeasurementApi(app, { runtime, campaigns, clock, settings: opts.settings ?? CampaignSettings.parse({}) });
  registerCatalogApi(app, { runtime, clock, catalog: opts.catalog ?? defaultCatalogSettings, rates: opts.rates, storeCurrency: opts.storeCurrency ?? 'USD' });
  const document = openApiDocument();
  app.get('/docs', async () => document);
  app.get('/docs/openapi.json', async () => document);

  app.get('/admin/clock', async () => ({
    now: clock.now().toISOString(),
    mode: opts.simulated ? 'simulated' : 'system',
    ...(opts.simulated?.heldAt() != null ? { firingHeldAt: opts.simulated.heldAt()?.toISOString() } : {}),
  }));
  app.post('/admin/clock', async (request, reply) => {
    if (opts.simulated === undefined) return reply.status(404).send({ error: 'the clock can be set only when the scheduler runs with CLOCK=simulated' });
    const { now, walk } = ClockBody.parse(request.body);
    const instant = new Date(now);
    if (instant.getTime() < clock.now().getTime()) return reply.status(409).send({ error: `the clock is at ${clock.now().toISOString()} and does not run backwards` });
    // The other services follow the published clock: it goes out first, so none lags behind the scheduler's decisions.
    if (opts.publishClock !== undefined && instant.getTime() > clock.now().getTime()) {
      try {
        await opts.publishClock(instant);
      } catch (err) {
        runtime.logger.error({ err, now }, 'clock move not published; the clock stays');
        return reply.status(503).send({ error: 'the clock could not be published to Kafka; it has not moved, try again' });
      }
    }
    const moved = walk === true ? opts.simulated.walk(instant) : opts.simulated.set(instant);
    if (!moved.ok) return reply.status(409).send({ error: moved.reason });
    if (walk === true) {
      // Nothing fires until the walker has sent what happened on the way and calls /admin/clock/fire.
      runtime.logger.info({ now: clock.now().toISOString(), heldAt: opts.simulated.heldAt()?.toISOString() }, 'clock walked; firing held');
      return { now: clock.now().toISOString(), fired: 0, firingHeldAt: opts.simulated.heldAt()?.toISOString() };
    }
    // Answer once everything due by the new time has been fired, so callers can rely on it.
    const fired = await opts.fireDue();
    runtime.logger.info({ now: clock.now().toISOString(), fired }, 'clock set');
    return { now: clock.now().toISOString(), fired };
  });
  app.post('/admin/clock/fire', async (_request, reply) => {
    if (opts.simulated === undefined) return reply.status(404).send({ error: 'the clock can be walked only when the scheduler runs with CLOCK=simulated' });
    opts.simulated.release();
    const fired = await opts.fireDue();
    runtime.logger.info({ now: clock.now().toISOString(), fired }, 'walked clock fired');
    return { now: clock.now().toISOString(), fired };
  });
  return app;
}
