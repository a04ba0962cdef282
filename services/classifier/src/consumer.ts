import { publish, type Logger, type Runtime, type TopicConsumerOptions } from '@lifecycle/kit';
import type { LifecycleEvent, StageChanged, TimerFired, TimerRequested } from '@lifecycle/contracts';
import { processedEvents, recurring, stageHistory } from './db/schema.ts';
import { recomputeRfm } from './rfm-recompute.ts';
import { advanceClock, applyEvent, emptyProfile, type Profile } from './domain/profile.ts';
import { decideStage, nextCheckAt } from './domain/stage-rules.ts';
import { isHistorical, type Thresholds } from './domain/thresholds.ts';
import { loadProfileForUpdate, saveProfile, type Tx } from './profile-repository.ts';

export const TIMER_OWNER = 'classifier';
const silenceTimerId = (customerId: string): string => `${TIMER_OWNER}:silence:${customerId}`;
const RFM_TIMER_ID = `${TIMER_OWNER}:rfm`;

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
 * Asks for the next RFM recompute, `intervalHours` after the later of the cause's time and its
 * arrival, so an imported history does not step through the past one interval at a time.
 */
async function scheduleRfm(tx: Tx, runtime: Runtime, thresholds: Thresholds, cause: Cause, onlyIfNone: boolean): Promise<void> {
  const base = Math.max(Date.parse(cause.occurredAt), cause.arrivedAt ?? 0);
  const nextAt = new Date(base + thresholds.rfm.intervalHours * 3_600_000).toISOString();
  const row = { name: 'rfm', nextAt };
  const written = onlyIfNone
    ? await tx.insert(recurring).values(row).onConflictDoNothing().returning()
    : await tx.insert(recurring).values(row).onConflictDoUpdate({ target: recurring.name, set: row }).returning();
  if (written.length === 0) return;
  await publish(runtime.producer, runtime.prefix, 'timersRequested', [timerRequest(cause, RFM_TIMER_ID, RFM_TIMER_ID, nextAt)]);
}

interface Cause {
  id: string;
  customerId: string;
  occurredAt: string;
  /** When the cause reached Kafka, ms since the epoch; unknown counts as on time. */
  arrivedAt: number | undefined;
}

/**
 * Re-decides the stage of a changed profile and writes the outcome: the profile, the history
 * row and stage-change record when the stage moved, and a timer request when the moment the
 * customer would go quiet moved. All of it inside the caller's transaction.
 */
async function settle(tx: Tx, runtime: Runtime, thresholds: Thresholds, before: Profile | null, updated: Profile, cause: Cause, log: Logger): Promise<void> {
  const { producer, prefix } = runtime;
  const now = updated.clockAt;
  const decision = decideStage(updated, now, thresholds);
  const wakeAt = nextCheckAt(updated, now, thresholds);
  const previous = before?.stage ?? null;
  await saveProfile(tx, { ...updated, stage: decision.stage, nextCheckAt: wakeAt });
  if (wakeAt !== null && wakeAt !== updated.nextCheckAt) {
    await publish(producer, prefix, 'timersRequested', [timerRequest(cause, silenceTimerId(cause.customerId), cause.customerId, wakeAt)]);
  }
  if (decision.stage === previous) return;
  const change: StageChanged = {
    id: `${cause.id}:stage`,
    type: 'stage.changed',
    version: 1,
    occurredAt: now,
    customerId: cause.customerId,
    causationId: cause.id,
    payload: { from: previous, to: decision.stage, reason: decision.reason, eventId: cause.id, historical: cause.arrivedAt !== undefined && isHistorical(cause.occurredAt, cause.arrivedAt, thresholds) },
  };
  await tx.insert(stageHistory).values({
    customerId: cause.customerId,
    fromStage: previous,
    toStage: decision.stage,
    reason: decision.reason,
    eventId: cause.id,
    occurredAt: now,
  });
  await publish(producer, prefix, 'stageChanges', [change]);
  log.info({ eventId: cause.id, customerId: cause.customerId, from: previous, to: decision.stage, reason: decision.reason, historical: change.payload.historical }, 'stage changed');
}

async function firstTime(tx: Tx, id: string): Promise<boolean> {
  const fresh = await tx.insert(processedEvents).values({ eventId: id }).onConflictDoNothing().returning();
  return fresh.length > 0;
}

/**
 * Folds one lifecycle event into the customer's profile and re-decides the stage, at the
 * event's time. Processed id and effects share one transaction: a redelivery changes nothing.
 */
export function lifecycleEventHandler(runtime: Runtime, thresholds: Thresholds): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  const { db, logger } = runtime;
  return async (event: LifecycleEvent, record) => {
    await db.transaction(async (tx) => {
      if (!(await firstTime(tx, event.id))) {
        logger.info({ eventId: event.id, customerId: event.customerId }, 'event already processed');
        return;
      }
      const cause = { ...event, arrivedAt: record.timestamp };
      const before = await loadProfileForUpdate(tx, event.customerId);
      const updated = applyEvent(before ?? emptyProfile(event.customerId, event.occurredAt), event);
      await settle(tx, runtime, thresholds, before, updated, cause, logger);
      await scheduleRfm(tx, runtime, thresholds, cause, true);
    });
  };
}

/** Re-decides a customer's stage when the silence timer the classifier asked for fires. */
export function timerFiredHandler(runtime: Runtime, thresholds: Thresholds): TopicConsumerOptions<'timersFired'>['handle'] {
  const { db, logger } = runtime;
  return async (timer: TimerFired, record) => {
    if (timer.payload.owner !== TIMER_OWNER) return;
    await db.transaction(async (tx) => {
      if (!(await firstTime(tx, timer.id))) return;
      const cause = { ...timer, arrivedAt: record.timestamp };
      if (timer.payload.timerId === RFM_TIMER_ID) {
        const scored = await recomputeRfm(tx, timer.payload.fireAt);
        logger.info({ scored, at: timer.payload.fireAt }, 'rfm scores recomputed');
        await scheduleRfm(tx, runtime, thresholds, cause, false);
        return;
      }
      const before = await loadProfileForUpdate(tx, timer.customerId);
      if (before === null) return;
      await settle(tx, runtime, thresholds, before, advanceClock(before, timer.payload.fireAt), cause, logger);
    });
  };
}
