import { and, desc, eq, gte, inArray, lte, max, ne, sql } from 'drizzle-orm';
import { movesOrderValue, netOrderValue, orderIdOf, spendByCurrency, type ConsentChanged, type CurrencyRates, type LifecycleEvent, type MessageEvent, type OrderLedger, type StageChanged } from '@lifecycle/contracts';
import { inTransaction, type Logger, type Runtime, type TopicConsumerOptions, type Transaction } from '@lifecycle/kit';
import { lockContact, recordEventTime, saveContact } from './db/contacts-repository.ts';
import { firstTime } from './db/processed-events.ts';
import { conversions, jobs } from './db/schema.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import type { Clock } from './domain/clock.ts';
import { contactAfterConsent, contactAfterEvent, type StoredContact } from './domain/contact-state.ts';
import { dueTime, exitsJob, planJobs, planOccasion, triggers, type PlannedJob, type TriggerInput } from './domain/planning.ts';

export interface PlanningOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  settings: CampaignSettings;
  clock: Clock;
  /** The store's exchange rates (`currencies` in config/lifecycle.yaml); unset: amounts are never converted. */
  rates?: CurrencyRates | undefined;
  /** Called after new jobs were stored, so the runner can fire the ones already due. */
  onPlanned: () => void;
}

/** Stores planned jobs; a job planned before (same dedupe key) is left as it is. */
export async function insertJobs(tx: Transaction, planned: PlannedJob[], logger: Logger, cause: string): Promise<number> {
  if (planned.length === 0) return 0;
  const inserted = await tx
    .insert(jobs)
    .values(planned.map((p) => ({ ...p, status: 'pending' })))
    .onConflictDoNothing()
    .returning({ dedupeKey: jobs.dedupeKey, campaignId: jobs.campaignId, customerId: jobs.customerId, dueAt: jobs.dueAt });
  for (const job of inserted) {
    logger.info({ eventId: cause, customerId: job.customerId, campaignId: job.campaignId, dueAt: job.dueAt.toISOString() }, 'message planned');
  }
  return inserted.length;
}

/** Re-plans the customer's date campaigns (birthday, anniversaries) after their dates may have changed. */
export async function replanOccasions(tx: Transaction, opts: Pick<PlanningOptions, 'campaigns' | 'settings'>, contact: StoredContact, now: Date, logger: Logger, cause: string): Promise<number> {
  let planned = 0;
  for (const campaign of opts.campaigns) {
    if (!campaign.enabled || !('date' in campaign.trigger)) continue;
    const plan = planOccasion(campaign, contact, opts.settings, now);
    const stale = and(eq(jobs.customerId, contact.customerId), eq(jobs.campaignId, campaign.id), eq(jobs.status, 'pending'));
    await tx
      .update(jobs)
      .set({ status: 'cancelled', skipReason: 'rescheduled', firedAt: now })
      .where(plan === null ? stale : and(stale, ne(jobs.dedupeKey, plan.dedupeKey)));
    if (plan !== null) planned += await insertJobs(tx, [plan], logger, cause);
  }
  return planned;
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

async function lastEntries(tx: Transaction, customerId: string): Promise<Map<string, Date>> {
  const rows = await tx
    .select({ campaignId: jobs.campaignId, last: max(jobs.triggerAt) })
    .from(jobs)
    .where(eq(jobs.customerId, customerId))
    .groupBy(jobs.campaignId);
  return new Map(rows.flatMap((r) => (r.last === null ? [] : [[r.campaignId, r.last] as const])));
}

/** Plans what a trigger starts for the locked contact. */
async function planTrigger(tx: Transaction, opts: PlanningOptions, contact: StoredContact, trigger: TriggerInput): Promise<number> {
  if (trigger.historical) return 0;
  // Most events (product views of customers in no campaign's window) start nothing: no query.
  const started = opts.campaigns.filter((c) => c.enabled && triggers(c, trigger, opts.rates));
  if (started.length === 0) return 0;
  const entries = started.some((c) => typeof c.reentry === 'object') ? await lastEntries(tx, contact.customerId) : new Map<string, Date>();
  const planned = planJobs(started, trigger, contact, opts.settings, (id) => entries.get(id) ?? null, opts.rates);
  return insertJobs(tx, planned, opts.runtime.logger, trigger.id);
}

/** Cancels the customer's pending jobs this event exits (a new order cancels a pending win-back). */
async function applyExits(tx: Transaction, opts: PlanningOptions, event: LifecycleEvent, name: string, properties: Record<string, unknown>): Promise<void> {
  const exiting = opts.campaigns.filter((c) => (c.exitOn ?? []).some((e) => e.event === name));
  if (exiting.length === 0) return;
  const at = new Date(event.occurredAt);
  const pending = await tx
    .select({ dedupeKey: jobs.dedupeKey, campaignId: jobs.campaignId, triggerProps: jobs.triggerProps, triggerEventId: jobs.triggerEventId })
    .from(jobs)
    .where(
      and(
        eq(jobs.customerId, event.customerId),
        eq(jobs.status, 'pending'),
        inArray(
          jobs.campaignId,
          exiting.map((c) => c.id),
        ),
        lte(jobs.triggerAt, at),
      ),
    );
  const byId = new Map(exiting.map((c) => [c.id, c]));
  for (const job of pending) {
    const campaign = byId.get(job.campaignId);
    if (campaign === undefined || job.triggerEventId === event.id || !exitsJob(campaign, { name, properties }, job.triggerProps)) continue;
    await tx
      .update(jobs)
      .set({ status: 'cancelled', skipReason: 'exit', skipDetail: name, firedAt: opts.clock.now() })
      .where(eq(jobs.dedupeKey, job.dedupeKey));
    opts.runtime.logger.info({ eventId: event.id, customerId: event.customerId, campaignId: job.campaignId, dedupeKey: job.dedupeKey }, 'job cancelled by exit event');
  }
}

/**
 * Attributes a goal event to the latest message of each campaign sent within its window before
 * it. An order converts once per order id (a resent order adds nothing), with its value by the
 * shared order-value rule, net of refunds; an order cancelled or refunded in full is no conversion.
 */
async function recordConversions(tx: Transaction, opts: PlanningOptions, event: LifecycleEvent, name: string, properties: Record<string, unknown>, orders: OrderLedger): Promise<void> {
  const at = new Date(event.occurredAt);
  const isOrder = name === 'Order Completed';
  const orderId = orderIdOf({ properties, eventId: event.id });
  const value = isOrder ? netOrderValue(orders, orderId) : null;
  if (isOrder && value === null) return;
  const goalEventId = isOrder ? `order:${orderId}` : event.id;
  for (const campaign of opts.campaigns) {
    if (campaign.goal?.event !== name) continue;
    const [send] = await tx
      .select({ dedupeKey: jobs.dedupeKey, variant: jobs.variant })
      .from(jobs)
      .where(
        and(
          eq(jobs.customerId, event.customerId),
          eq(jobs.campaignId, campaign.id),
          eq(jobs.status, 'sent'),
          gte(jobs.firedAt, new Date(at.getTime() - campaign.goal.within)),
          lte(jobs.firedAt, at),
        ),
      )
      .orderBy(desc(jobs.firedAt))
      .limit(1);
    if (send === undefined) continue;
    const added = await tx
      .insert(conversions)
      .values({ campaignId: campaign.id, goalEventId, customerId: event.customerId, dedupeKey: send.dedupeKey, variant: send.variant, revenueMinor: value?.amountMinor ?? null, currency: value?.currency ?? null, convertedAt: at })
      .onConflictDoNothing()
      .returning();
    if (added.length > 0) opts.runtime.logger.info({ eventId: event.id, customerId: event.customerId, campaignId: campaign.id, dedupeKey: send.dedupeKey }, 'conversion attributed');
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

/**
 * Applies one lifecycle event inside the caller's transaction, together with its processed id:
 * updates the contact, cancels the jobs it exits, records conversions, and plans the campaigns
 * it triggers. Job keys are deterministic, so a redelivery changes nothing. Historical events
 * (reaching Kafka long after they happened) update the contact but start no campaign.
 */
async function applyLifecycleEvent(tx: Transaction, opts: PlanningOptions, event: LifecycleEvent, arrivedAt: number | undefined): Promise<number> {
  const { call } = event.payload;
  const occurredAt = new Date(event.occurredAt);
  const historical = arrivedAt !== undefined && arrivedAt - occurredAt.getTime() > opts.settings.historicalAfter;
  if (!(await firstTime(tx, event.id))) return 0;
  const before = await lockContact(tx, event.customerId, occurredAt);
  const after = contactAfterEvent(before, event, opts.settings.storeTimeZone);
  await saveContact(tx, after);
  let count = 0;
  if (dateFields(before) !== dateFields(after)) count += await replanOccasions(tx, opts, after, opts.clock.now(), opts.runtime.logger, event.id);
  if (before.timeZone !== after.timeZone) await moveLocalTimes(tx, opts, after, event.id);
  if (call.type !== 'track') return count;
  await recordEventTime(tx, event.customerId, call.event, occurredAt);
  await applyExits(tx, opts, event, call.event, call.properties);
  await recordConversions(tx, opts, event, call.event, call.properties, after.orders);
  if (call.event === 'Order Refunded' || call.event === 'Order Cancelled') await reviseConversions(tx, event.customerId, orderIdOf({ properties: call.properties, eventId: event.id }), after.orders);
  if (historical) opts.runtime.logger.debug({ eventId: event.id, customerId: event.customerId }, 'historical event: contact updated, no campaign started');
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
  return count + (await planTrigger(tx, opts, after, trigger));
}

/** Handles one lifecycle event in a transaction of its own (and retries of a failed batch). */
export function lifecycleEventHandler(opts: PlanningOptions): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  return async (event, record) => {
    const planned = await inTransaction(opts.runtime.pool, (tx) => applyLifecycleEvent(tx, opts, event, record.timestamp));
    if (planned > 0) opts.onPlanned();
  };
}

/**
 * Handles a partition's batch of lifecycle events in one transaction, in offset order: a
 * backlog (every product view reaches the scheduler) is taken in without a commit per event.
 */
export function lifecycleBatchHandler(opts: PlanningOptions): NonNullable<TopicConsumerOptions<'lifecycleEvents'>['handleBatch']> {
  return async (items) => {
    const planned = await inTransaction(opts.runtime.pool, async (tx) => {
      let count = 0;
      for (const { value, record } of items) count += await applyLifecycleEvent(tx, opts, value, record.timestamp);
      return count;
    });
    if (planned > 0) opts.onPlanned();
  };
}

/** Handles a stage change: keeps the contact's stage and starts stage campaigns (unless historical). */
export function stageChangeHandler(opts: PlanningOptions): TopicConsumerOptions<'stageChanges'>['handle'] {
  return async (change: StageChanged) => {
    const occurredAt = new Date(change.occurredAt);
    const planned = await inTransaction(opts.runtime.pool, async (tx) => {
      if (!(await firstTime(tx, change.id))) return 0;
      const contact = await lockContact(tx, change.customerId, occurredAt);
      const after = { ...contact, stage: change.payload.to };
      await saveContact(tx, after);
      const trigger: TriggerInput = { kind: 'stage', id: change.id, from: change.payload.from, to: change.payload.to, occurredAt, historical: change.payload.historical === true };
      return planTrigger(tx, opts, after, trigger);
    });
    if (planned > 0) opts.onPlanned();
  };
}

/**
 * Consent from its owner (messaging): the contact keeps the latest state by sequence; marketing
 * jobs of a customer who may not get marketing mail are skipped as `unsubscribed` when due.
 */
export function consentChangeHandler(opts: PlanningOptions): TopicConsumerOptions<'consentChanges'>['handle'] {
  return async (change: ConsentChanged) => {
    await inTransaction(opts.runtime.pool, async (tx) => {
      if (!(await firstTime(tx, change.id))) return;
      const before = await lockContact(tx, change.customerId, new Date(change.payload.consentAt));
      const after = contactAfterConsent(before, change);
      if (after === before) return;
      await saveContact(tx, after);
      opts.runtime.logger.info({ eventId: change.id, customerId: change.customerId, state: change.payload.state, sequence: change.payload.sequence }, 'consent applied to contact');
    });
  };
}

/** Messaging's outcomes that mean the provider was never given the message. */
const notSentOutcomes = ['suppressed', 'failed'] as const;
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
  return async (event: MessageEvent) => {
    const { status } = event.payload;
    if (!isNotSent(status)) return;
    // A job still pending: requested by a firing that did not commit, from before firings went through the outbox; messaging has settled it for good.
    const settled = await opts.runtime.db
      .update(jobs)
      .set({ status, skipReason: status, skipDetail: event.payload.error ?? null })
      .where(and(eq(jobs.dedupeKey, event.payload.dedupeKey), inArray(jobs.status, ['sent', 'pending'])))
      .returning({ dedupeKey: jobs.dedupeKey });
    if (settled.length > 0) opts.runtime.logger.info({ eventId: event.id, customerId: event.customerId, campaignId: event.payload.campaignId, dedupeKey: event.payload.dedupeKey, status }, 'job settled by messaging as not sent');
  };
}

/** Rows touched by a start-up pass, for the log. */
export interface StartupReport {
  cancelled: number;
  planned: number;
}

/**
 * At start-up: cancels the pending jobs of campaigns that are disabled or gone (campaign edits
 * take effect on restart), and plans date campaigns for contacts that have none pending (a
 * birthday campaign added today reaches customers known before).
 */
export async function reconcileAtStartup(opts: PlanningOptions): Promise<StartupReport> {
  const { db, logger } = opts.runtime;
  const enabled = opts.campaigns.filter((c) => c.enabled).map((c) => c.id);
  const cancelled = await db
    .update(jobs)
    .set({ status: 'cancelled', skipReason: 'campaign_disabled', firedAt: opts.clock.now() })
    .where(and(eq(jobs.status, 'pending'), enabled.length > 0 ? sql`${jobs.campaignId} NOT IN (${sql.join(enabled.map((id) => sql`${id}`), sql`, `)})` : sql`true`))
    .returning({ dedupeKey: jobs.dedupeKey });
  let planned = 0;
  for (const campaign of opts.campaigns) {
    if (!campaign.enabled || !('date' in campaign.trigger)) continue;
    const column = { birthday: 'birthday', first_order_anniversary: 'first_order_date', signup_anniversary: 'signup_date' }[campaign.trigger.date];
    let after = '';
    for (;;) {
      const ids = await db.execute<{ customer_id: string }>(sql`
        SELECT c.customer_id FROM scheduler.contacts c
        WHERE ${sql.raw(`c.${column}`)} IS NOT NULL AND c.customer_id > ${after}
          AND NOT EXISTS (SELECT 1 FROM scheduler.jobs j WHERE j.customer_id = c.customer_id AND j.campaign_id = ${campaign.id} AND j.status = 'pending')
        ORDER BY c.customer_id
        LIMIT 500`);
      const last = ids.rows.at(-1);
      if (last === undefined) break;
      after = last.customer_id;
      for (const { customer_id: customerId } of ids.rows) {
        planned += await inTransaction(opts.runtime.pool, async (tx) => {
          const contact = await lockContact(tx, customerId, opts.clock.now());
          return replanOccasions(tx, { campaigns: [campaign], settings: opts.settings }, contact, opts.clock.now(), logger, 'start-up');
        });
      }
    }
  }
  logger.info({ cancelled: cancelled.length, planned }, 'campaigns reconciled at start-up');
  return { cancelled: cancelled.length, planned };
}
