import { publish, type Logger, type Runtime, type TopicConsumerOptions } from '@lifecycle/kit';
import type { LifecycleEvent, StageChanged, TimerFired, TimerRequested } from '@lifecycle/contracts';
import { processedEvents, stageHistory } from './db/schema.ts';
import { advanceClock, applyEvent, emptyProfile, type Profile } from './domain/profile.ts';
import { decideStage, nextCheckAt } from './domain/stage-rules.ts';
import { isHistorical, type Thresholds } from './domain/thresholds.ts';
import { loadProfileForUpdate, saveProfile, type Tx } from './profile-repository.ts';

export const TIMER_OWNER = 'classifier';
const silenceTimerId = (customerId: string): string => `${TIMER_OWNER}:silence:${customerId}`;

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
    const request: TimerRequested = {
      id: `${cause.id}:timer`,
      type: 'timer.requested',
      version: 1,
      occurredAt: cause.occurredAt,
      customerId: cause.customerId,
      causationId: cause.id,
      payload: { timerId: silenceTimerId(cause.customerId), owner: TIMER_OWNER, fireAt: wakeAt, data: {} },
    };
    await publish(producer, prefix, 'timersRequested', [request]);
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
      const before = await loadProfileForUpdate(tx, event.customerId);
      const updated = applyEvent(before ?? emptyProfile(event.customerId, event.occurredAt), event);
      await settle(tx, runtime, thresholds, before, updated, { ...event, arrivedAt: record.timestamp }, logger);
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
      const before = await loadProfileForUpdate(tx, timer.customerId);
      if (before === null) return;
      await settle(tx, runtime, thresholds, before, advanceClock(before, timer.payload.fireAt), { ...timer, arrivedAt: record.timestamp }, logger);
    });
  };
}
