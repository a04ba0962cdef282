import { inTransaction, type ConsumedRecord, type Logger, type Outbox, type Runtime, type TopicConsumerOptions, type Transaction } from '@lifecycle/kit';
import type { LifecycleEvent, StageChanged, TimerFired, TimerRequested } from '@lifecycle/contracts';
import { z } from 'zod';
import { inArray, sql } from 'drizzle-orm';
import { ConsentChanged, isCatalogEvent, MessageEvent } from '@lifecycle/contracts';
import { aliases, heldMessageEvents, processedEvents, profiles as profileTable, recurring, stageHistory } from './db/schema.ts';
import { advanceClock, applyConsent, applyEvent, applyMessageEvent, emptyProfile, mergeProfiles, type Profile } from './domain/profile.ts';
import { decideStage, nextCheckAt } from './domain/stage-rules.ts';
import { isHistorical, type Thresholds } from './domain/thresholds.ts';
import { loadProfilesForUpdate, saveProfiles } from './profile-repository.ts';
import { requestRfmRecompute } from './rfm-recompute.ts';
import { erasedAt } from './privacy.ts';

export const TIMER_OWNER = 'classifier';
const silenceTimerId = (customerId: string): string => `${TIMER_OWNER}:silence:${customerId}`;
const RFM_TIMER_ID = `${TIMER_OWNER}:rfm`;

interface Cause {
  id: string;
  customerId: string;
  occurredAt: string;
  /** When the cause reached Kafka, ms since the epoch; unknown counts as on time. */
  arrivedAt: number | undefined;
}

/** One input to fold into a profile: an event, or a fired timer moving the clock. */
interface Step {
  cause: Cause;
  /** An anonymous id whose profile merges into this customer's first (ingestion linked them). */
  absorbs?: string;
  /** The profile after this input; null when there is nothing to change (a timer for nobody). */
  apply: (before: Profile | null) => Profile | null;
  /** A message event or consent record for a customer with no profile yet: kept to fold in when the profile appears. */
  held?: HeldEvent;
}

/** What waits in `held_message_events` for its customer's profile. */
type HeldEvent = MessageEvent | ConsentChanged;
const HeldEvent = z.union([MessageEvent, ConsentChanged]);

const heldTime = (e: HeldEvent): string => (e.type === 'consent.changed' ? e.payload.consentAt : (e.payload.providerTimestamp ?? e.occurredAt));

function applyHeld(profile: Profile, e: HeldEvent): Profile {
  return e.type === 'consent.changed' ? applyConsent(profile, e) : applyMessageEvent(profile, e);
}

function timerRequest(cause: Cause, timerId: string, customerId: string, fireAt: string): TimerRequested {
  return {
    id: `${cause.id}:${timerId}`,
    type: 'timer.requested',
    version: 1,
    occurredAt: cause.occurredAt,
    customerId,
    causationId: cause.id,
    payload: { timerId, owner: TIMER_OWNER, fireAt, data: {} },
  };
}

/**
 * Drops (in place) the steps about an erased customer that happened before the erase: a replay or
 * rebuild must not bring the erased profile back. What happened after it starts a new profile.
 */
async function skipErased(tx: Transaction, todo: Step[], log: Logger): Promise<void> {
  const erased = await erasedAt(tx, [...new Set(todo.flatMap((s) => [s.cause.customerId, ...(s.absorbs === undefined ? [] : [s.absorbs])]))]);
  if (erased.size === 0) return;
  const before = (id: string | undefined, at: number): boolean => id !== undefined && at <= (erased.get(id) ?? -Infinity);
  const kept = todo.filter((s) => {
    const at = Date.parse(s.cause.occurredAt);
    return !before(s.cause.customerId, at) && !before(s.absorbs, at);
  });
  if (kept.length < todo.length) log.info({ skipped: todo.length - kept.length, eventId: todo[0]?.cause.id }, 'events from before a customer was erased, skipped');
  todo.splice(0, todo.length, ...kept);
}

/**
 * Folds a run of steps into their customers' profiles and writes the outcome in the caller's
 * transaction: processed ids, profiles, a history row and a stage-change record for every move,
 * and for each customer the latest silence timer request when the moment they would go quiet
 * moved. Steps already processed are skipped, so a redelivery changes nothing and emits nothing.
 * The records go to the outbox: published once the transaction commits, never if it rolls back.
 */
async function applySteps(tx: Transaction, outbox: Outbox, thresholds: Thresholds, steps: Step[], log: Logger): Promise<void> {
  if (steps.length === 0) return;
  // Array parameters throughout: a statement's cost to build does not grow with the batch.
  const inserted = await tx.execute<{ event_id: string }>(sql`
    INSERT INTO ${processedEvents} (event_id) SELECT unnest(${sql.param(steps.map((s) => s.cause.id))}::text[])
    ON CONFLICT DO NOTHING RETURNING event_id`);
  const fresh = new Set(inserted.rows.map((r) => r.event_id));
  const todo = steps.filter((s) => fresh.delete(s.cause.id));
  if (todo.length < steps.length) log.info({ skipped: steps.length - todo.length, eventId: steps[0]?.cause.id }, 'already processed, skipped');
  if (todo.length === 0) return;
  await skipErased(tx, todo, log);
  if (todo.length === 0) return;
  const profiles = await loadProfilesForUpdate(tx, [...new Set(todo.flatMap((s) => [s.cause.customerId, ...(s.absorbs === undefined ? [] : [s.absorbs])]))]);
  // Engagement held for customers whose profile this batch may create: read in one statement,
  // deleted in one for those it did create.
  const waiting = await heldMessageEventsOf(tx, [...new Set(todo.filter((s) => s.held === undefined && !profiles.has(s.cause.customerId)).map((s) => s.cause.customerId))]);
  const taken: string[] = [];
  const changed = new Set<string>();
  const absorbed = new Set<string>();
  const history: HistoryRow[] = [];
  const changes: StageChanged[] = [];
  const timers = new Map<string, TimerRequested>();
  const toHold: (typeof heldMessageEvents.$inferInsert)[] = [];
  for (const { cause, apply, absorbs, held } of todo) {
    let before = profiles.get(cause.customerId) ?? null;
    const anonymous = absorbs === undefined ? undefined : profiles.get(absorbs);
    if (absorbs !== undefined && anonymous !== undefined) {
      const merged = mergeProfiles(before ?? { ...emptyProfile(cause.customerId, anonymous.firstSeenAt), stage: anonymous.stage }, anonymous);
      before = { ...merged, customerId: cause.customerId };
      profiles.delete(absorbs);
      changed.delete(absorbs);
      absorbed.add(absorbs);
      log.info({ eventId: cause.id, customerId: cause.customerId, anonymousId: absorbs }, 'anonymous activity merged into customer');
    }
    if (before === null && held !== undefined) {
      toHold.push({ eventId: held.id, customerId: cause.customerId, event: held });
      continue;
    }
    let updated = apply(before);
    if (updated === null) continue;
    if (before === null) {
      // A new profile takes the engagement that arrived before it (a rebuild's replay order).
      for (const event of waiting.get(cause.customerId) ?? []) {
        updated = applyHeld(updated, event);
        taken.push(event.id);
      }
    }
    const now = updated.clockAt;
    const decision = decideStage(updated, now, thresholds);
    const wakeAt = nextCheckAt(updated, now, thresholds);
    profiles.set(cause.customerId, { ...updated, stage: decision.stage, nextCheckAt: wakeAt });
    changed.add(cause.customerId);
    if (wakeAt !== null && wakeAt !== updated.nextCheckAt) timers.set(cause.customerId, timerRequest(cause, silenceTimerId(cause.customerId), cause.customerId, wakeAt));
    const previous = before?.stage ?? null;
    if (decision.stage === previous) continue;
    const historical = cause.arrivedAt !== undefined && isHistorical(cause.occurredAt, cause.arrivedAt, thresholds);
    history.push({ customerId: cause.customerId, fromStage: previous, toStage: decision.stage, reason: decision.reason, eventId: cause.id, occurredAt: now });
    changes.push({
      id: `${cause.id}:stage`,
      type: 'stage.changed',
      version: 1,
      occurredAt: now,
      customerId: cause.customerId,
      causationId: cause.id,
      payload: { from: previous, to: decision.stage, reason: decision.reason, eventId: cause.id, historical },
    });
    log.info({ eventId: cause.id, customerId: cause.customerId, from: previous, to: decision.stage, reason: decision.reason, historical }, 'stage changed');
  }
  await saveProfiles(tx, [...changed].flatMap((id) => profiles.get(id) ?? []));
  if (absorbed.size > 0) await tx.delete(profileTable).where(inArray(profileTable.customerId, [...absorbed]));
  if (taken.length > 0) await tx.execute(sql`DELETE FROM ${heldMessageEvents} WHERE event_id = ANY(${sql.param(taken)}::text[])`);
  if (history.length > 0) await insertHistory(tx, history);
  if (toHold.length > 0) {
    await tx.insert(heldMessageEvents).values(toHold).onConflictDoNothing();
    log.info({ held: toHold.length, eventId: toHold[0]?.eventId }, 'message events held for customers without a profile yet');
  }
  await outbox.enqueue(tx, 'timersRequested', [...timers.values()]);
  await outbox.enqueue(tx, 'stageChanges', changes);
}

/**
 * Asks for the next RFM recompute, `intervalHours` after the later of the cause's time and its
 * arrival, so an imported history does not step through the past one interval at a time.
 */
async function scheduleRfm(tx: Transaction, outbox: Outbox, thresholds: Thresholds, cause: Cause, onlyIfNone: boolean): Promise<void> {
  const base = Math.max(Date.parse(cause.occurredAt), cause.arrivedAt ?? 0);
  const nextAt = new Date(base + thresholds.rfm.intervalHours * 3_600_000).toISOString();
  const row = { name: 'rfm', nextAt };
  const written = onlyIfNone
    ? await tx.insert(recurring).values(row).onConflictDoNothing().returning()
    : await tx.insert(recurring).values(row).onConflictDoUpdate({ target: recurring.name, set: row }).returning();
  if (written.length === 0) return;
  await outbox.enqueue(tx, 'timersRequested', [timerRequest(cause, RFM_TIMER_ID, RFM_TIMER_ID, nextAt)]);
}

type Item<T> = { value: T; record: ConsumedRecord };

/**
 * The held message events and consent records of these customers, each customer's oldest first.
 * Only read: the caller deletes those it folds in (by event id, so a row held meanwhile for a
 * customer whose profile did not appear stays).
 */
async function heldMessageEventsOf(tx: Transaction, customerIds: string[]): Promise<Map<string, HeldEvent[]>> {
  const byCustomer = new Map<string, HeldEvent[]>();
  if (customerIds.length === 0) return byCustomer;
  const rows = await tx
    .select({ customerId: heldMessageEvents.customerId, event: heldMessageEvents.event })
    .from(heldMessageEvents)
    .where(sql`${heldMessageEvents.customerId} = ANY(${sql.param(customerIds)}::text[])`);
  for (const row of rows) {
    const parsed = HeldEvent.safeParse(row.event);
    if (!parsed.success) continue;
    const list = byCustomer.get(row.customerId) ?? [];
    list.push(parsed.data);
    byCustomer.set(row.customerId, list);
  }
  for (const list of byCustomer.values()) list.sort((a, b) => heldTime(a).localeCompare(heldTime(b)));
  return byCustomer;
}

type HistoryRow = Omit<typeof stageHistory.$inferInsert, 'id' | 'recordedAt'> & { fromStage: string | null };

/** Stage history rows in one statement, in the order given (their ids follow it). */
async function insertHistory(tx: Transaction, rows: HistoryRow[]): Promise<void> {
  const column = <K extends keyof HistoryRow>(key: K) => sql.param(rows.map((r) => r[key]));
  await tx.execute(sql`
    INSERT INTO ${stageHistory} (customer_id, from_stage, to_stage, reason, event_id, occurred_at)
    SELECT r.customer_id, r.from_stage, r.to_stage, r.reason, r.event_id, r.occurred_at
    FROM unnest(${column('customerId')}::text[], ${column('fromStage')}::text[], ${column('toStage')}::text[], ${column('reason')}::text[], ${column('eventId')}::text[], ${column('occurredAt')}::timestamptz[])
      WITH ORDINALITY AS r(customer_id, from_stage, to_stage, reason, event_id, occurred_at, n)
    ORDER BY r.n`);
}

/**
 * The step for an event: it belongs to the customer its id was linked to, if any, and an event
 * that links an anonymous id to its own customer absorbs the anonymous profile.
 */
const eventStep = ({ value: event, record }: Item<LifecycleEvent>, linkedTo: Map<string, string>): Step => {
  const customerId = linkedTo.get(event.customerId) ?? event.customerId;
  const linked = event.payload.call.normalized?.linked;
  const absorbs = linked !== undefined && linked.userId === customerId && linked.anonymousId !== customerId ? linked.anonymousId : undefined;
  return {
    cause: { ...event, customerId, arrivedAt: record.timestamp },
    ...(absorbs === undefined ? {} : { absorbs }),
    apply: (before) => applyEvent(before ?? emptyProfile(customerId, event.occurredAt), event),
  };
};

/** Transaction locks on customer ids, taken in one order: work on the same customer queues up. */
async function lockIdentities(tx: Transaction, ids: string[]): Promise<void> {
  const locked = [...new Set(ids)];
  if (locked.length === 0) return;
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('lifecycle-identity:' || id)) FROM (SELECT unnest(${sql.param(locked)}::text[]) AS id ORDER BY 1) ids`);
}

/**
 * Records the links the events carry and resolves every id they use to its customer. An
 * anonymous id's events and the event linking it sit on different partitions, processed side by
 * side: a transaction lock per id (taken in one order) makes each wait for the other's commit, so
 * the anonymous activity is either merged by the link or follows it, never left behind.
 */
async function resolveLinks(tx: Transaction, events: LifecycleEvent[]): Promise<Map<string, string>> {
  const links = events.flatMap((e) => {
    const linked = e.payload.call.normalized?.linked;
    return linked === undefined || linked.anonymousId === linked.userId ? [] : [{ anonymousId: linked.anonymousId, customerId: linked.userId, linkedAt: e.occurredAt }];
  });
  const ids = [...new Set(events.map((e) => e.customerId))];
  await lockIdentities(tx, [...ids, ...links.map((l) => l.anonymousId)]);
  if (links.length > 0) await tx.insert(aliases).values(links).onConflictDoNothing();
  const rows = await tx.select().from(aliases).where(sql`${aliases.anonymousId} = ANY(${sql.param(ids)}::text[])`);
  return new Map(rows.map((r) => [r.anonymousId, r.customerId]));
}

/**
 * Folds lifecycle events into their customers' profiles and re-decides each stage at the
 * event's time, a whole batch in one transaction (a backlog replays at full speed).
 */
export function lifecycleEventsHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): (items: Item<LifecycleEvent>[]) => Promise<void> {
  return async (items) => {
    const first = items[0];
    if (first === undefined) return;
    await inTransaction(runtime.pool, async (tx) => {
      const linkedTo = await resolveLinks(tx, items.map((i) => i.value));
      // A catalog event (`Product Updated`) is about a product: it makes nobody a profile.
      const steps = items.filter(({ value }) => !(value.payload.call.type === 'track' && isCatalogEvent(value.payload.call.event))).map((item) => eventStep(item, linkedTo));
      await applySteps(tx, outbox, thresholds, steps, runtime.logger);
      await scheduleRfm(tx, outbox, thresholds, { ...first.value, arrivedAt: first.record.timestamp }, true);
    });
  };
}

export function lifecycleEventHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  const batch = lifecycleEventsHandler(runtime, thresholds, outbox);
  return (value, record) => batch([{ value, record }]);
}

/**
 * Fired timers: a silence timer re-decides its customer's stage at the timer's time; the RFM
 * timer records that the scores are due (the RFM worker recomputes them) and asks for the next one.
 */
export function timersFiredHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): (items: Item<TimerFired>[]) => Promise<void> {
  const { logger } = runtime;
  return async (items) => {
    const mine = items.filter((i) => i.value.payload.owner === TIMER_OWNER);
    if (mine.length === 0) return;
    await inTransaction(runtime.pool, async (tx) => {
      const steps = mine
        .filter((i) => i.value.payload.timerId !== RFM_TIMER_ID)
        .map(({ value: timer, record }): Step => ({
          cause: { ...timer, arrivedAt: record.timestamp },
          apply: (before) => (before === null ? null : advanceClock(before, timer.payload.fireAt)),
        }));
      await applySteps(tx, outbox, thresholds, steps, logger);
      for (const { value: timer, record } of mine.filter((i) => i.value.payload.timerId === RFM_TIMER_ID)) {
        const fresh = await tx.insert(processedEvents).values({ eventId: timer.id }).onConflictDoNothing().returning();
        if (fresh.length === 0) continue;
        // Only recorded here: the RFM worker recomputes in transactions of its own, so a large
        // customer base never holds this consumer past its session.
        await requestRfmRecompute(tx, timer.payload.fireAt);
        logger.info({ eventId: timer.id, at: timer.payload.fireAt }, 'rfm recompute due');
        await scheduleRfm(tx, outbox, thresholds, { ...timer, arrivedAt: record.timestamp }, false);
      }
    });
  };
}

export function timerFiredHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): TopicConsumerOptions<'timersFired'>['handle'] {
  const batch = timersFiredHandler(runtime, thresholds, outbox);
  return (value, record) => batch([{ value, record }]);
}

/** Engagement from `messages.events`: opens, clicks and unsubscribes of customers it knows. */
export function messageEventsHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): (items: Item<MessageEvent>[]) => Promise<void> {
  return async (items) => {
    const steps = items.map(({ value: event, record }): Step => ({
      cause: { ...event, arrivedAt: record.timestamp },
      apply: (before) => (before === null ? null : applyMessageEvent(before, event)),
      held: event,
    }));
    // The customers' locks: a message event and the event that creates the profile never pass
    // each other unseen (one holds the engagement, the other then takes it).
    await inTransaction(runtime.pool, async (tx) => {
      await lockIdentities(tx, items.map((i) => i.value.customerId));
      await applySteps(tx, outbox, thresholds, steps, runtime.logger);
    });
  };
}

export function messageEventHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): TopicConsumerOptions<'messageEvents'>['handle'] {
  const batch = messageEventsHandler(runtime, thresholds, outbox);
  return (value, record) => batch([{ value, record }]);
}

/**
 * Consent from its owner (messaging's `consent.changes`): the profile shows the latest state by
 * sequence. A record for a customer without a profile yet is held like engagement.
 */
export function consentChangesHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): (items: Item<ConsentChanged>[]) => Promise<void> {
  return async (items) => {
    const steps = items.map(({ value: change, record }): Step => ({
      cause: { ...change, arrivedAt: record.timestamp },
      apply: (before) => (before === null ? null : applyConsent(before, change)),
      held: change,
    }));
    await inTransaction(runtime.pool, async (tx) => {
      await lockIdentities(tx, items.map((i) => i.value.customerId));
      await applySteps(tx, outbox, thresholds, steps, runtime.logger);
    });
  };
}

export function consentChangeHandler(runtime: Runtime, thresholds: Thresholds, outbox: Outbox): TopicConsumerOptions<'consentChanges'>['handle'] {
  const batch = consentChangesHandler(runtime, thresholds, outbox);
  return (value, record) => batch([{ value, record }]);
}
