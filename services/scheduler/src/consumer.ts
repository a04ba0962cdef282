import { and, eq, gte, inArray, lte, max, sql } from 'drizzle-orm';
import { movesOrderValue, netOrderValue, orderIdOf, spendByCurrency, type ConsentChanged, type CurrencyRates, type LifecycleEvent, type MessageEvent, type OrderLedger, type StageChanged } from '@lifecycle/contracts';
import { inTransaction, type Logger, type Runtime, type TopicConsumerOptions, type Transaction } from '@lifecycle/kit';
import { contactFromRow, lockContact, lockContacts, recordEventTimes, saveContact, saveContacts } from './db/contacts-repository.ts';
import { anyOf } from './db/any-of.ts';
import { firstTime, firstTimes } from './db/processed-events.ts';
import { contacts as contactsTable, conversions, jobs } from './db/schema.ts';
import { applyCatalog } from './catalog-intake.ts';
import { defaultCatalogSettings, type CatalogSettings } from './db/catalog-repository.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import type { Clock, FiringHorizon } from './domain/clock.ts';
import { contactAfterConsent, contactAfterEngagement, contactAfterEvent, emptyContact, type StoredContact } from './domain/contact-state.ts';
import { planRePermission, rePermissionCampaign } from './domain/sunset.ts';
import { dueTime, exitsJob, planJobs, planOccasion, triggers, type PlannedJob, type TriggerInput } from './domain/planning.ts';

export interface PlanningOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  settings: CampaignSettings;
  clock: Clock;
  /** A simulated clock's firing (a walk judges jobs as of their due instants); absent: the clock runs. */
  firing?: () => FiringHorizon;
  /** The store's exchange rates (`currencies` in config/lifecycle.yaml); unset: amounts are never converted. */
  rates?: CurrencyRates | undefined;
  /** Called after new jobs were stored, so the runner can fire the ones already due. */
  onPlanned: () => void;
  /** How the product catalog learns (half-life, minimum support, reorder samples); default as documented. */
  catalog?: CatalogSettings | undefined;
}

/**
 * Stores planned jobs in one statement (rows as one JSON parameter: a batch's hundreds of jobs
 * cost no query building per value); a job planned before (same dedupe key) is left as it is,
 * unless `replacePending` and it is still pending (a re-planned date: same year, new day or zone).
 */
export async function insertJobs(tx: Transaction, planned: PlannedJob[], logger: Logger, cause: string | ((dedupeKey: string) => string), replacePending = false): Promise<number> {
  if (planned.length === 0) return 0;
  const byKey = new Map(planned.map((p) => [p.dedupeKey, p]));
  const { rows } = await tx.execute<{ dedupe_key: string }>(sql`
    INSERT INTO scheduler.jobs (dedupe_key, campaign_id, customer_id, trigger_event_id, trigger_at, trigger_props, due_at, category, variant, trigger_data, status)
    SELECT x."dedupeKey", x."campaignId", x."customerId", x."triggerEventId", x."triggerAt", x."triggerProps", x."dueAt", x.category, x.variant, x."triggerData", 'pending'
    FROM jsonb_array_elements(${JSON.stringify(planned)}::jsonb) WITH ORDINALITY AS e(doc, n),
      jsonb_to_record(e.doc) AS x(
        "dedupeKey" text, "campaignId" text, "customerId" text, "triggerEventId" text, "triggerAt" timestamptz, "triggerProps" jsonb,
        "dueAt" timestamptz, category text, variant text, "triggerData" jsonb)
    ORDER BY e.n
    ${
      replacePending
        ? sql`ON CONFLICT (dedupe_key) DO UPDATE SET trigger_event_id = excluded.trigger_event_id, trigger_at = excluded.trigger_at, due_at = excluded.due_at, trigger_data = excluded.trigger_data
            WHERE jobs.status = 'pending' AND (jobs.due_at, jobs.trigger_data) IS DISTINCT FROM (excluded.due_at, excluded.trigger_data)`
        : sql`ON CONFLICT DO NOTHING`
    }
    RETURNING dedupe_key`);
  for (const { dedupe_key: key } of rows) {
    const job = byKey.get(key);
    if (job !== undefined) logger.info({ eventId: typeof cause === 'string' ? cause : cause(key), customerId: job.customerId, campaignId: job.campaignId, dueAt: job.dueAt.toISOString() }, 'message planned');
  }
  return rows.length;
}

/**
 * Re-plans the customer's date campaigns (birthday, anniversaries) after their dates may have
 * changed: their pending jobs other than the new plans are cancelled, then the plans stored.
 */
export async function replanOccasions(tx: Transaction, opts: Pick<PlanningOptions, 'campaigns' | 'settings'>, contact: StoredContact, now: Date, logger: Logger, cause: string): Promise<number> {
  return replanOccasionsOf(tx, opts, [contact], now, logger, () => cause);
}

/** `replanOccasions` for many customers: one statement cancels, one stores, for all of them and all date campaigns (a job's key names its campaign and customer). */
async function replanOccasionsOf(tx: Transaction, opts: Pick<PlanningOptions, 'campaigns' | 'settings'>, contacts: readonly StoredContact[], now: Date, logger: Logger, cause: (customerId: string) => string): Promise<number> {
  const dated = opts.campaigns.filter((c) => c.enabled && 'date' in c.trigger);
  if (dated.length === 0 || contacts.length === 0) return 0;
  const plans = contacts.flatMap((contact) => dated.flatMap((campaign) => planOccasion(campaign, contact, opts.settings, now) ?? []));
  const stale = and(
    anyOf(
      jobs.customerId,
      contacts.map((c) => c.customerId),
    ),
    eq(jobs.status, 'pending'),
    inArray(
      jobs.campaignId,
      dated.map((c) => c.id),
    ),
  );
  await tx
    .update(jobs)
    .set({ status: 'cancelled', skipReason: 'rescheduled', firedAt: now })
    .where(plans.length === 0 ? stale : and(stale, sql`${jobs.dedupeKey} <> ALL(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(plans.map((p) => p.dedupeKey))}::jsonb)))`));
  const causes = new Map(plans.map((p) => [p.dedupeKey, cause(p.customerId)]));
  // This year's job kept its key when the day or zone changed: it takes the new time.
  return insertJobs(tx, plans, logger, (key) => causes.get(key) ?? '', true);
}

/**
 * A customer who moved to another zone gets "at 10:00 customer time" in the new one: pending
 * jobs of campaigns with a local-time delay are planned again from their trigger time.
 */
async function moveLocalTimes(tx: Transaction, opts: PlanningOptions, contact: StoredContact, cause: string): Promise<void> {
  const local = new Map(opts.campaigns.filter((c) => c.delay.kind === 'local' && !('date' in c.trigger)).map((c) => [c.id, c]));
  if (local.size === 0) return;
  const pending = await tx
    .select({ dedupeKey: jobs.dedupeKey, campaignId: jobs.campaignId, triggerAt: jobs.triggerAt, dueAt: jobs.dueAt })
    .from(jobs)
    .where(and(eq(jobs.customerId, contact.customerId), eq(jobs.status, 'pending'), inArray(jobs.campaignId, [...local.keys()])));
  for (const job of pending) {
    const campaign = local.get(job.campaignId);
    if (campaign === undefined) continue;
    const dueAt = dueTime(campaign, opts.settings, contact, job.triggerAt);
    if (dueAt.getTime() === job.dueAt.getTime()) continue;
    await tx.update(jobs).set({ dueAt }).where(eq(jobs.dedupeKey, job.dedupeKey));
    opts.runtime.logger.info({ eventId: cause, customerId: contact.customerId, campaignId: job.campaignId, dueAt: dueAt.toISOString() }, 'message moved to the customer’s new time zone');
  }
}

/** A refund or cancellation brings the conversions of its order to the order's net value, or removes them when nothing is left. */
async function reviseConversions(tx: Transaction, customerId: string, orderId: string, orders: OrderLedger): Promise<void> {
  const goal = and(eq(conversions.customerId, customerId), eq(conversions.goalEventId, `order:${orderId}`));
  const value = netOrderValue(orders, orderId);
  if (value === null) await tx.delete(conversions).where(goal);
  else await tx.update(conversions).set({ revenueMinor: value.amountMinor, currency: value.currency }).where(goal);
}

function dateFields(c: StoredContact): string {
  return [c.birthday, c.firstOrderDate, c.signupDate, c.timeZone].join('|');
}

/** What the campaigns make of an event, worked out once rather than per event. */
interface CampaignIndex {
  /** Campaigns an event (by name) exits. */
  exitsBy: Map<string, Campaign[]>;
  /** Campaigns an event (by name) is the goal of, in campaign order. */
  goalsBy: Map<string, Campaign[]>;
  /** Date campaigns with exits: re-planning one changes the jobs exits look at. */
  datedExits: boolean;
  /** Enabled campaigns with `reentry: { every }`, whose last entries planning looks at. */
  reentryEvery: Set<string>;
}

function indexCampaigns(campaigns: readonly Campaign[]): CampaignIndex {
  const exitsBy = new Map<string, Campaign[]>();
  const goalsBy = new Map<string, Campaign[]>();
  for (const c of campaigns) {
    for (const name of new Set((c.exitOn ?? []).map((e) => e.event))) exitsBy.set(name, [...(exitsBy.get(name) ?? []), c]);
    if (c.goal !== undefined) goalsBy.set(c.goal.event, [...(goalsBy.get(c.goal.event) ?? []), c]);
  }
  return {
    exitsBy,
    goalsBy,
    datedExits: campaigns.some((c) => 'date' in c.trigger && (c.exitOn ?? []).length > 0),
    reentryEvery: new Set(campaigns.filter((c) => c.enabled && typeof c.reentry === 'object').map((c) => c.id)),
  };
}

/** A pending job an exit event may cancel. */
interface ExitableJob {
  dedupeKey: string;
  campaignId: string;
  triggerProps: Record<string, unknown>;
  triggerEventId: string;
  triggerAt: Date;
  dueAt: Date;
}

interface SentJob {
  dedupeKey: string;
  campaignId: string;
  variant: string | null;
  firedAt: Date;
  /** `sent` or `held_out`: a goal after a held-out job is the control group's conversion. */
  status: string;
  /** For a held-out job, its group: `holdout` (the campaign's) or `global_control` (the programme's). */
  skipReason: string | null;
}

/** The conversion's group: a held-out job's own group, so a campaign's lift compares it with its holdout only. */
const conversionGroup = (send: SentJob): 'mailed' | 'held_out' | 'global_control' => (send.status !== 'held_out' ? 'mailed' : send.skipReason === 'global_control' ? 'global_control' : 'held_out');

interface Cancellation {
  dedupeKey: string;
  detail: string;
  /**
   * The instant the cancellation is stamped with: on a walked clock the job's due instant (when
   * a firing would have judged it, and what it stamps when the exit reached the scheduler before
   * the job was planned), else null for the clock's now.
   */
  at: string | null;
  eventId: string;
  customerId: string;
  campaignId: string;
}

const groupBy = <T extends { customerId: string }>(rows: readonly T[]): Map<string, T[]> => {
  const out = new Map<string, T[]>();
  for (const row of rows) out.set(row.customerId, [...(out.get(row.customerId) ?? []), row]);
  return out;
};

/**
 * The state a batch of lifecycle events works on, read once for all its customers (their
 * pending exitable jobs, last campaign entries, recent sends), and the jobs it plans and
 * cancels, written once. Writes wait in memory until the batch ends or a statement that reads
 * jobs (re-planning dates, moving local times) needs them stored first, so the batch sees its
 * own effects in offset order as if each event were applied alone.
 */
class BatchState {
  private readonly planned = new Map<string, { job: PlannedJob; cause: string }>();
  private readonly cancels = new Map<string, Cancellation>();
  /** Customers whose dates changed, with the latest event that changed them: their date campaigns are re-planned when the batch flushes. */
  private readonly redate = new Map<string, string>();
  private readonly exitable = new Map<string, ExitableJob[]>();
  private readonly entries = new Map<string, Date>();
  private sent = new Map<string, SentJob[]>();
  readonly eventTimes = new Map<string, { customerId: string; event: string; at: Date }>();
  inserted = 0;

  private readonly opts: PlanningOptions;
  private readonly index: CampaignIndex;

  private readonly contacts: ReadonlyMap<string, StoredContact>;

  constructor(opts: PlanningOptions, index: CampaignIndex, contacts: ReadonlyMap<string, StoredContact>) {
    this.opts = opts;
    this.index = index;
    this.contacts = contacts;
  }

  /** Reads what the batch's events will look at, one statement per kind. */
  async load(tx: Transaction, events: readonly LifecycleEvent[]): Promise<void> {
    const named = events.flatMap((e) => (e.payload.call.type === 'track' ? [{ e, name: e.payload.call.event }] : []));
    const exiting = [...new Set(named.filter(({ name }) => this.index.exitsBy.has(name)).map(({ e }) => e.customerId))];
    await this.loadExitable(tx, exiting);
    const everyIds = [...this.index.reentryEvery];
    const customers = [...new Set(events.map((e) => e.customerId))];
    if (everyIds.length > 0 && customers.length > 0) {
      const rows = await tx
        .select({ customerId: jobs.customerId, campaignId: jobs.campaignId, last: max(jobs.triggerAt) })
        .from(jobs)
        .where(and(anyOf(jobs.customerId, customers), inArray(jobs.campaignId, everyIds)))
        .groupBy(jobs.customerId, jobs.campaignId);
      for (const r of rows) if (r.last !== null) this.entries.set(`${r.customerId}\n${r.campaignId}`, r.last);
    }
    const goals = named.filter(({ name }) => this.index.goalsBy.has(name));
    if (goals.length > 0) {
      const campaigns = [...new Set(goals.flatMap(({ name }) => this.index.goalsBy.get(name) ?? []))];
      const within = Math.max(...campaigns.map((c) => c.goal?.within ?? 0));
      const times = goals.map(({ e }) => Date.parse(e.occurredAt));
      const rows = await tx
        .select({ customerId: jobs.customerId, dedupeKey: jobs.dedupeKey, campaignId: jobs.campaignId, variant: jobs.variant, firedAt: jobs.firedAt, status: jobs.status, skipReason: jobs.skipReason })
        .from(jobs)
        .where(
          and(
            anyOf(jobs.customerId, [...new Set(goals.map(({ e }) => e.customerId))]),
            inArray(
              jobs.campaignId,
              campaigns.map((c) => c.id),
            ),
            inArray(jobs.status, ['sent', 'held_out']),
            gte(jobs.firedAt, new Date(Math.min(...times) - within)),
            lte(jobs.firedAt, new Date(Math.max(...times))),
          ),
        );
      this.sent = groupBy(rows.flatMap((r) => (r.firedAt === null ? [] : [{ ...r, firedAt: r.firedAt }])));
    }
  }

  private async loadExitable(tx: Transaction, customers: readonly string[]): Promise<void> {
    const ids = [...new Set([...this.index.exitsBy.values()].flat().map((c) => c.id))];
    if (customers.length === 0 || ids.length === 0) return;
    const rows = await tx
      .select({ customerId: jobs.customerId, dedupeKey: jobs.dedupeKey, campaignId: jobs.campaignId, triggerProps: jobs.triggerProps, triggerEventId: jobs.triggerEventId, triggerAt: jobs.triggerAt, dueAt: jobs.dueAt })
      .from(jobs)
      .where(and(anyOf(jobs.customerId, customers), eq(jobs.status, 'pending'), inArray(jobs.campaignId, ids)));
    const byCustomer = groupBy(rows);
    for (const customerId of customers) this.exitable.set(customerId, byCustomer.get(customerId) ?? []);
  }

  /**
   * The customer's dates (or zone) changed: their date campaigns are re-planned from their
   * contact as it stands when the batch flushes, for all such customers at once. Nothing the
   * batch reads in between looks at date campaigns' pending jobs (no event triggers one, and
   * exits look at them only when a date campaign has exits, which re-plans at once instead).
   * Several changes in one batch re-plan once, from the last.
   */
  redated(customerId: string, cause: string): void {
    this.redate.delete(customerId);
    this.redate.set(customerId, cause);
  }

  /** After re-planning a customer's dates: their exitable jobs are read again (when a date campaign has exits). */
  async replanned(tx: Transaction, customerId: string): Promise<void> {
    if (this.index.datedExits && this.exitable.has(customerId)) await this.loadExitable(tx, [customerId]);
  }

  lastEntry(customerId: string, campaignId: string): Date | null {
    return this.entries.get(`${customerId}\n${campaignId}`) ?? null;
  }

  /** Jobs planned for an event; stored when the batch flushes. A key planned twice keeps the first, as an insert would. */
  plan(planned: readonly PlannedJob[], cause: string): void {
    for (const job of planned) {
      if (this.planned.has(job.dedupeKey)) continue;
      this.planned.set(job.dedupeKey, { job, cause });
      if (this.index.reentryEvery.has(job.campaignId)) {
        const key = `${job.customerId}\n${job.campaignId}`;
        const last = this.entries.get(key);
        if (last === undefined || last < job.triggerAt) this.entries.set(key, job.triggerAt);
      }
      this.exitable.get(job.customerId)?.push({ dedupeKey: job.dedupeKey, campaignId: job.campaignId, triggerProps: job.triggerProps, triggerEventId: job.triggerEventId, triggerAt: job.triggerAt, dueAt: job.dueAt });
    }
  }

  /** Cancels the customer's pending jobs this event exits (a new order cancels a pending win-back). */
  exit(event: LifecycleEvent, name: string, properties: Record<string, unknown>): void {
    const exiting = this.index.exitsBy.get(name);
    const pending = this.exitable.get(event.customerId);
    if (exiting === undefined || pending === undefined) return;
    const at = Date.parse(event.occurredAt);
    const byId = new Map(exiting.map((c) => [c.id, c]));
    // On a walked clock a job due before the exit happened fired before it (the walk fires it
    // later, as of its due instant): the exit does not reach back to it.
    const walked = this.opts.firing?.().asOfDue === true;
    const kept: ExitableJob[] = [];
    for (const job of pending) {
      const campaign = byId.get(job.campaignId);
      const firedBefore = walked && job.dueAt.getTime() <= at;
      if (campaign === undefined || firedBefore || job.triggerAt.getTime() > at || job.triggerEventId === event.id || !exitsJob(campaign, { name, properties }, job.triggerProps)) kept.push(job);
      else {
        const at = walked ? new Date(Math.max(job.dueAt.getTime(), job.triggerAt.getTime())).toISOString() : null;
        this.cancels.set(job.dedupeKey, { dedupeKey: job.dedupeKey, detail: name, at, eventId: event.id, customerId: event.customerId, campaignId: job.campaignId });
      }
    }
    this.exitable.set(event.customerId, kept);
  }

  /** The customer's latest send (or held-out job) of the campaign within its goal window before `at`. */
  latestSend(customerId: string, campaign: Campaign, at: Date): SentJob | undefined {
    const within = campaign.goal?.within ?? 0;
    let best: SentJob | undefined;
    for (const s of this.sent.get(customerId) ?? []) {
      if (s.campaignId !== campaign.id || s.firedAt.getTime() > at.getTime() || s.firedAt.getTime() < at.getTime() - within) continue;
      if (best === undefined || s.firedAt > best.firedAt) best = s;
    }
    return best;
  }

  recordEventTime(customerId: string, event: string, at: Date): void {
    const key = `${customerId}\n${event}`;
    const seen = this.eventTimes.get(key);
    if (seen === undefined || seen.at < at) this.eventTimes.set(key, { customerId, event, at });
  }

  /** Stores the planned jobs, then the cancellations (a job planned and exited in one batch is stored cancelled). */
  async flush(tx: Transaction): Promise<void> {
    const { logger } = this.opts.runtime;
    if (this.redate.size > 0) {
      const causes = new Map(this.redate);
      this.redate.clear();
      const contacts = [...causes.keys()].flatMap((id) => this.contacts.get(id) ?? []);
      this.inserted += await replanOccasionsOf(tx, this.opts, contacts, this.opts.clock.now(), logger, (customerId) => causes.get(customerId) ?? '');
    }
    if (this.planned.size > 0) {
      const planned = [...this.planned.values()];
      this.planned.clear();
      const causes = new Map(planned.map((p) => [p.job.dedupeKey, p.cause]));
      this.inserted += await insertJobs(tx, planned.map((p) => p.job), logger, (key) => causes.get(key) ?? '');
    }
    if (this.cancels.size > 0) {
      const cancels = new Map(this.cancels);
      this.cancels.clear();
      const rows = [...cancels.values()].map((c) => ({ dedupe_key: c.dedupeKey, detail: c.detail, at: c.at }));
      const { rows: done } = await tx.execute<{ dedupe_key: string }>(sql`
        UPDATE scheduler.jobs j SET status = 'cancelled', skip_reason = 'exit', skip_detail = x.detail, fired_at = coalesce(x.at, ${this.opts.clock.now().toISOString()}::timestamptz)
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(dedupe_key text, detail text, at timestamptz)
        WHERE j.dedupe_key = x.dedupe_key AND j.status = 'pending'
        RETURNING j.dedupe_key`);
      for (const { dedupe_key: key } of done) {
        const c = cancels.get(key);
        if (c !== undefined) logger.info({ eventId: c.eventId, customerId: c.customerId, campaignId: c.campaignId, dedupeKey: key }, 'job cancelled by exit event');
      }
    }
  }
}

/**
 * Attributes a goal event to the latest message of each campaign sent (or held out: the control
 * group's conversions, for the lift) within its window before it. An order converts once per order id (a resent order adds nothing), with its value by the
 * shared order-value rule, net of refunds; an order cancelled or refunded in full is no conversion.
 */
async function recordConversions(tx: Transaction, opts: PlanningOptions, state: BatchState, goals: readonly Campaign[], event: LifecycleEvent, name: string, properties: Record<string, unknown>, orders: OrderLedger): Promise<void> {
  const at = new Date(event.occurredAt);
  const isOrder = name === 'Order Completed';
  const orderId = orderIdOf({ properties, eventId: event.id });
  const value = isOrder ? netOrderValue(orders, orderId) : null;
  if (isOrder && value === null) return;
  const goalEventId = isOrder ? `order:${orderId}` : event.id;
  for (const campaign of goals) {
    const send = state.latestSend(event.customerId, campaign, at);
    if (send === undefined) continue;
    const added = await tx
      .insert(conversions)
      .values({
        campaignId: campaign.id,
        goalEventId,
        customerId: event.customerId,
        dedupeKey: send.dedupeKey,
        variant: send.variant,
        revenueMinor: value?.amountMinor ?? null,
        currency: value?.currency ?? null,
        convertedAt: at,
        group: conversionGroup(send),
      })
      .onConflictDoNothing()
      .returning();
    if (added.length > 0) opts.runtime.logger.info({ eventId: event.id, customerId: event.customerId, campaignId: campaign.id, dedupeKey: send.dedupeKey, group: conversionGroup(send) }, 'conversion attributed');
  }
}

/**
 * Applies one lifecycle event to the batch's locked contact: updates the contact, cancels the
 * jobs it exits, records conversions, and plans the campaigns it triggers. Job keys are
 * deterministic, so a redelivery changes nothing. Historical events (reaching Kafka long after
 * they happened) update the contact but start no campaign.
 */
async function applyLifecycleEvent(tx: Transaction, opts: PlanningOptions, index: CampaignIndex, state: BatchState, contacts: Map<string, StoredContact>, event: LifecycleEvent, arrivedAt: number | undefined): Promise<number> {
  const { call } = event.payload;
  const occurredAt = new Date(event.occurredAt);
  const historical = arrivedAt !== undefined && arrivedAt - occurredAt.getTime() > opts.settings.historicalAfter;
  const before = contacts.get(event.customerId) ?? emptyContact(event.customerId, occurredAt);
  const after = contactAfterEvent(before, event, opts.settings.storeTimeZone);
  contacts.set(event.customerId, after);
  let count = 0;
  if (dateFields(before) !== dateFields(after)) {
    if (index.datedExits) {
      // Exits then look at date campaigns' pending jobs: re-plan now, in offset order.
      await state.flush(tx);
      count += await replanOccasions(tx, opts, after, opts.clock.now(), opts.runtime.logger, event.id);
      await state.replanned(tx, event.customerId);
    } else state.redated(event.customerId, event.id);
  }
  if (before.timeZone !== after.timeZone) {
    await state.flush(tx);
    await moveLocalTimes(tx, opts, after, event.id);
  }
  if (call.type !== 'track') return count;
  state.recordEventTime(event.customerId, call.event, occurredAt);
  state.exit(event, call.event, call.properties);
  const goals = index.goalsBy.get(call.event);
  if (goals !== undefined) await recordConversions(tx, opts, state, goals, event, call.event, call.properties, after.orders);
  if (call.event === 'Order Refunded' || call.event === 'Order Cancelled') await reviseConversions(tx, event.customerId, orderIdOf({ properties: call.properties, eventId: event.id }), after.orders);
  if (historical) {
    opts.runtime.logger.debug({ eventId: event.id, customerId: event.customerId }, 'historical event: contact updated, no campaign started');
    return count;
  }
  const trigger: TriggerInput = {
    kind: 'event',
    id: event.id,
    name: call.event,
    properties: call.properties,
    normalized: call.normalized,
    occurredAt,
    historical,
    ...(movesOrderValue(call.event) ? { spend: { before: spendByCurrency(before.orders), after: spendByCurrency(after.orders) } } : {}),
  };
  const started = opts.campaigns.filter((c) => c.enabled && triggers(c, trigger, opts.rates));
  if (started.length > 0) state.plan(planJobs(started, trigger, after, opts.settings, (id) => state.lastEntry(event.customerId, id), opts.rates), event.id);
  return count;
}

/**
 * Applies lifecycle events of one partition in one transaction, in offset order, with their
 * processed ids: a backlog (every product view reaches the scheduler) is taken in with a few
 * set-based statements per batch (processed ids, contacts locked and saved, the state the
 * events look at, planned and cancelled jobs, event times) rather than several per event.
 */
async function applyLifecycleEvents(tx: Transaction, opts: PlanningOptions, index: CampaignIndex, items: readonly { value: LifecycleEvent; record: { timestamp?: number | undefined } }[]): Promise<number> {
  const fresh = await firstTimes(
    tx,
    items.map((i) => i.value.id),
  );
  // An id twice in one batch is applied once, at its first place.
  const todo = items.filter((i) => fresh.delete(i.value.id));
  if (todo.length === 0) return 0;
  const asOf = new Map<string, Date>();
  for (const { value } of todo) if (!asOf.has(value.customerId)) asOf.set(value.customerId, new Date(value.occurredAt));
  const contacts = await lockContacts(tx, asOf);
  const state = new BatchState(opts, index, contacts);
  await state.load(
    tx,
    todo.map((i) => i.value),
  );
  let count = 0;
  for (const { value, record } of todo) count += await applyLifecycleEvent(tx, opts, index, state, contacts, value, record.timestamp);
  const catalogEvents = todo.map(({ value, record }) => ({ event: value, historical: record.timestamp !== undefined && record.timestamp - Date.parse(value.occurredAt) > opts.settings.historicalAfter }));
  const catalogJobs = await applyCatalog(tx, { ...opts, catalog: opts.catalog ?? defaultCatalogSettings }, catalogEvents, contacts, opts.clock.now());
  for (const job of catalogJobs) state.plan([job], job.triggerEventId);
  await state.flush(tx);
  await saveContacts(
    tx,
    [...asOf.keys()].flatMap((id) => contacts.get(id) ?? []),
  );
  await recordEventTimes(tx, state.eventTimes);
  return count + state.inserted;
}

/** Handles one lifecycle event in a transaction of its own (and retries of a failed batch, one record at a time). */
export function lifecycleEventHandler(opts: PlanningOptions): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  const index = indexCampaigns(opts.campaigns);
  return async (event, record) => {
    const planned = await inTransaction(opts.runtime.pool, (tx) => applyLifecycleEvents(tx, opts, index, [{ value: event, record }]));
    if (planned > 0) opts.onPlanned();
  };
}

/** Handles a partition's batch of lifecycle events in one transaction, in offset order. */
export function lifecycleBatchHandler(opts: PlanningOptions): NonNullable<TopicConsumerOptions<'lifecycleEvents'>['handleBatch']> {
  const index = indexCampaigns(opts.campaigns);
  return async (items) => {
    const planned = await inTransaction(opts.runtime.pool, (tx) => applyLifecycleEvents(tx, opts, index, items));
    if (planned > 0) opts.onPlanned();
  };
}

/** Handles a stage change: keeps the contact's stage and starts stage campaigns (unless historical). */
export function stageChangeHandler(opts: PlanningOptions): TopicConsumerOptions<'stageChanges'>['handle'] {
  const batch = stageChangesBatchHandler(opts);
  return (change, record) => batch([{ value: change, record }]);
}

/**
 * Applies a partition's stage changes in one transaction, in offset order: processed ids,
 * contacts locked and saved, the last entries of `reentry: { every }` campaigns read, and the
 * planned jobs stored, once each (the classifier emits one for most events of a new customer).
 */
async function applyStageChanges(tx: Transaction, opts: PlanningOptions, changes: readonly StageChanged[]): Promise<number> {
  const fresh = await firstTimes(
    tx,
    changes.map((c) => c.id),
  );
  const todo = changes.filter((c) => fresh.delete(c.id));
  if (todo.length === 0) return 0;
  const asOf = new Map<string, Date>();
  for (const c of todo) if (!asOf.has(c.customerId)) asOf.set(c.customerId, new Date(c.occurredAt));
  const contacts = await lockContacts(tx, asOf);
  const every = opts.campaigns.filter((c) => c.enabled && typeof c.reentry === 'object').map((c) => c.id);
  const entries = new Map<string, Date>();
  if (every.length > 0) {
    const rows = await tx
      .select({ customerId: jobs.customerId, campaignId: jobs.campaignId, last: max(jobs.triggerAt) })
      .from(jobs)
      .where(and(anyOf(jobs.customerId, [...asOf.keys()]), inArray(jobs.campaignId, every)))
      .groupBy(jobs.customerId, jobs.campaignId);
    for (const r of rows) if (r.last !== null) entries.set(`${r.customerId}\n${r.campaignId}`, r.last);
  }
  const planned = new Map<string, { job: PlannedJob; cause: string }>();
  for (const change of todo) {
    const occurredAt = new Date(change.occurredAt);
    const after = { ...(contacts.get(change.customerId) ?? emptyContact(change.customerId, occurredAt)), stage: change.payload.to };
    contacts.set(change.customerId, after);
    const trigger: TriggerInput = { kind: 'stage', id: change.id, from: change.payload.from, to: change.payload.to, occurredAt, historical: change.payload.historical === true };
    if (trigger.historical) continue;
    const started = opts.campaigns.filter((c) => c.enabled && triggers(c, trigger, opts.rates));
    if (started.length === 0) continue;
    for (const job of planJobs(started, trigger, after, opts.settings, (id) => entries.get(`${change.customerId}\n${id}`) ?? null, opts.rates)) {
      if (planned.has(job.dedupeKey)) continue;
      planned.set(job.dedupeKey, { job, cause: change.id });
      const key = `${job.customerId}\n${job.campaignId}`;
      const last = entries.get(key);
      if (every.includes(job.campaignId) && (last === undefined || last < job.triggerAt)) entries.set(key, job.triggerAt);
    }
  }
  await saveContacts(
    tx,
    [...asOf.keys()].flatMap((id) => contacts.get(id) ?? []),
  );
  const jobsPlanned = [...planned.values()];
  return insertJobs(
    tx,
    jobsPlanned.map((p) => p.job),
    opts.runtime.logger,
    (key) => planned.get(key)?.cause ?? '',
  );
}

/** Handles a partition's batch of stage changes in one transaction, in offset order. */
export function stageChangesBatchHandler(opts: PlanningOptions): NonNullable<TopicConsumerOptions<'stageChanges'>['handleBatch']> {
  return async (items) => {
    const planned = await inTransaction(opts.runtime.pool, (tx) =>
      applyStageChanges(
        tx,
        opts,
        items.map((i) => i.value),
      ),
    );
    if (planned > 0) opts.onPlanned();
  };
}

/**
 * Consent from its owner (messaging): the contact keeps the latest state and preferences by
 * sequence; marketing jobs of a customer who may not get marketing mail are skipped as
 * `unsubscribed` (or `unconfirmed`, `topic_opt_out`, `preference_frequency`) when due.
 */
export function consentChangeHandler(opts: PlanningOptions): TopicConsumerOptions<'consentChanges'>['handle'] {
  return async (change: ConsentChanged) => {
    await inTransaction(opts.runtime.pool, async (tx) => {
      if (!(await firstTime(tx, change.id))) return;
      const before = await lockContact(tx, change.customerId, new Date(change.payload.consentAt));
      const after = contactAfterConsent(before, change);
      if (after === before) return;
      await saveContact(tx, after);
      opts.runtime.logger.info({ eventId: change.id, customerId: change.customerId, state: change.payload.state, sequence: change.payload.sequence, sunsetLifted: before.sunsetAt !== null && after.sunsetAt === null }, 'consent applied to contact');
    });
  };
}

/** Messaging's outcomes that mean the provider was never given the message. */
const notSentOutcomes = ['suppressed', 'failed', 'skipped'] as const;
type NotSentOutcome = (typeof notSentOutcomes)[number];
const isNotSent = (status: string): status is NotSentOutcome => (notSentOutcomes as readonly string[]).includes(status);

/**
 * What messaging did with a requested message. `suppressed` (the customer's consent said no when
 * it came to sending) and `failed` (the template could not be rendered, the provider refused it or
 * kept failing) settle the job with that status: not sent, so neither counted as a send in the
 * stats nor in the frequency cap, nor credited with conversions. The stats then count what the
 * provider was given. (`doubtful` stays a send: the provider may well have it.)
 */
export function messageEventHandler(opts: PlanningOptions): TopicConsumerOptions<'messageEvents'>['handle'] {
  const rePermission = rePermissionCampaign(opts.campaigns, opts.settings);
  return async (event: MessageEvent) => {
    const { status } = event.payload;
    if (status === 'opened' || status === 'clicked') {
      await recordEngagement(opts, rePermission, event);
      return;
    }
    if (!isNotSent(status)) return;
    // A job still pending: requested by a firing that did not commit, from before firings went through the outbox; messaging has settled it for good.
    const settled = await opts.runtime.db
      .update(jobs)
      // `skipped` (no coupon left for its offer) counts under skips by messaging's reason.
      .set(status === 'skipped' ? { status, skipReason: event.payload.reason ?? 'skipped', skipDetail: event.payload.error ?? null } : { status, skipReason: status, skipDetail: event.payload.error ?? null })
      .where(and(eq(jobs.dedupeKey, event.payload.dedupeKey), inArray(jobs.status, ['sent', 'pending'])))
      .returning({ dedupeKey: jobs.dedupeKey });
    if (settled.length > 0) opts.runtime.logger.info({ eventId: event.id, customerId: event.customerId, campaignId: event.payload.campaignId, dedupeKey: event.payload.dedupeKey, status }, 'job settled by messaging as not sent');
  };
}

/**
 * An open or click: the contact's latest engagement (the sunset's measure), which lifts a sunset
 * when it came after the re-permission mail, and moves the customer's pending re-permission job
 * to when they would next be inactive (see domain/sunset.ts). Only a later engagement than the one
 * held moves anything, so a redelivered or older open changes nothing.
 */
async function recordEngagement(opts: PlanningOptions, rePermission: Campaign | undefined, event: MessageEvent): Promise<void> {
  const planned = await inTransaction(opts.runtime.pool, (tx) => engage(tx, opts, rePermission, [{ customerId: event.customerId, at: new Date(event.occurredAt), eventId: event.id }]));
  if (planned > 0) opts.onPlanned();
}

interface Engagement {
  customerId: string;
  at: Date;
  eventId: string;
}

/**
 * Records engagements (at most one per customer: the latest), locking their contacts in one
 * statement in id order, so a batch waits once for the events consumer's transactions instead of
 * once per open. The latest open of several gives the state applying each in turn would.
 */
async function engage(tx: Transaction, opts: PlanningOptions, rePermission: Campaign | undefined, engagements: readonly Engagement[]): Promise<number> {
  const rows = await tx
    .select()
    .from(contactsTable)
    .where(anyOf(contactsTable.customerId, engagements.map((e) => e.customerId)))
    .orderBy(contactsTable.customerId)
    .for('update');
  const byCustomer = new Map(engagements.map((e) => [e.customerId, e]));
  const plans: PlannedJob[] = [];
  const causes = new Map<string, string>();
  // No contact: a message the scheduler never requested (messaging's own mail to an unknown id).
  for (const row of rows) {
    const engagement = byCustomer.get(row.customerId);
    if (engagement === undefined) continue;
    const before = contactFromRow(row);
    const after = contactAfterEngagement(before, engagement.at);
    if (after === before) continue;
    await saveContact(tx, after);
    if (before.sunsetAt !== null && after.sunsetAt === null) opts.runtime.logger.info({ eventId: engagement.eventId, customerId: row.customerId }, 'sunset lifted by an open or click');
    if (rePermission === undefined || after.lastEngagedAt === before.lastEngagedAt || after.lastEngagedAt === null) continue;
    const plan = planRePermission(rePermission, opts.settings, after, after.lastEngagedAt, `engaged-${after.lastEngagedAt.toISOString()}`);
    if (plan === null) continue;
    const moved = await tx
      .update(jobs)
      .set({ dueAt: plan.dueAt, triggerAt: plan.triggerAt, triggerEventId: plan.triggerEventId })
      .where(and(eq(jobs.customerId, row.customerId), eq(jobs.campaignId, rePermission.id), eq(jobs.status, 'pending')))
      .returning({ dedupeKey: jobs.dedupeKey });
    if (moved.length > 0) opts.runtime.logger.info({ eventId: engagement.eventId, customerId: row.customerId, campaignId: rePermission.id, dueAt: plan.dueAt.toISOString() }, 're-permission moved after an open or click');
    else {
      plans.push(plan);
      causes.set(plan.dedupeKey, engagement.eventId);
    }
  }
  return plans.length === 0 ? 0 : insertJobs(tx, plans, opts.runtime.logger, (dedupeKey) => causes.get(dedupeKey) ?? '');
}

/**
 * `messages.events` a chunk at a time: the opens and clicks (most of the topic) reduced to each
 * customer's latest and recorded in one transaction; the few not-sent outcomes settled one by one.
 */
export function messageEventsBatchHandler(opts: PlanningOptions): NonNullable<TopicConsumerOptions<'messageEvents'>['handleBatch']> {
  const rePermission = rePermissionCampaign(opts.campaigns, opts.settings);
  const single = messageEventHandler(opts);
  return async (items) => {
    const latest = new Map<string, Engagement>();
    for (const { value, record } of items) {
      const { status } = value.payload;
      if (status !== 'opened' && status !== 'clicked') {
        await single(value, record);
        continue;
      }
      const at = new Date(value.occurredAt);
      const known = latest.get(value.customerId);
      if (known === undefined || at.getTime() > known.at.getTime()) latest.set(value.customerId, { customerId: value.customerId, at, eventId: value.id });
    }
    if (latest.size === 0) return;
    const planned = await inTransaction(opts.runtime.pool, (tx) => engage(tx, opts, rePermission, [...latest.values()]));
    if (planned > 0) opts.onPlanned();
  };
}
