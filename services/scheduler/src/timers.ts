import { and, asc, eq, lte } from 'drizzle-orm';
import { inTransaction, type Outbox, type Runtime, type TopicConsumerOptions } from '@lifecycle/kit';
import type { TimerFired, TimerRequested } from '@lifecycle/contracts';
import { firstTime } from './db/processed-events.ts';
import { timers } from './db/schema.ts';

/**
 * Stores a timer request. The latest request for a timer id replaces the earlier one (a new
 * order moves the classifier's silence check), and a redelivered request changes nothing.
 */
export function timerRequestHandler(runtime: Runtime, onRequested: () => void): TopicConsumerOptions<'timersRequested'>['handle'] {
  const { logger } = runtime;
  return async (request: TimerRequested) => {
    const { timerId, owner, fireAt, data } = request.payload;
    const applied = await inTransaction(runtime.pool, async (tx) => {
      if (!(await firstTime(tx, request.id))) return false;
      const values = { timerId, owner, customerId: request.customerId, fireAt: new Date(fireAt), status: 'pending', data, requestId: request.id, firedAt: null };
      await tx.insert(timers).values(values).onConflictDoUpdate({ target: timers.timerId, set: values });
      return true;
    });
    if (!applied) return;
    logger.debug({ timerId, owner, customerId: request.customerId, fireAt }, 'timer set');
    onRequested();
  };
}

/**
 * Fires one batch of due timers: claimed with FOR UPDATE SKIP LOCKED, marked and written to the
 * outbox in one transaction, published by the relay once it commits. A fired timer's id is made
 * of its id and fire time, so a record published again after a crash carries the same id and its
 * owner drops it.
 */
export async function fireDueTimers(runtime: Runtime, outbox: Outbox, now: Date, batchSize: number): Promise<number> {
  const { logger } = runtime;
  return inTransaction(runtime.pool, async (tx) => {
    const due = await tx
      .select()
      .from(timers)
      .where(and(eq(timers.status, 'pending'), lte(timers.fireAt, now)))
      .orderBy(asc(timers.fireAt))
      .limit(batchSize)
      .for('update', { skipLocked: true });
    if (due.length === 0) return 0;
    const fired: TimerFired[] = due.map((t) => ({
      id: `timer:${t.timerId}@${t.fireAt.toISOString()}`,
      type: 'timer.fired',
      version: 1,
      occurredAt: t.fireAt.toISOString(),
      customerId: t.customerId,
      causationId: t.requestId,
      payload: { timerId: t.timerId, owner: t.owner, fireAt: t.fireAt.toISOString(), data: t.data },
    }));
    await outbox.enqueue(tx, 'timersFired', fired);
    for (const t of due) {
      await tx.update(timers).set({ status: 'fired', firedAt: now }).where(eq(timers.timerId, t.timerId));
      logger.debug({ timerId: t.timerId, owner: t.owner, customerId: t.customerId }, 'timer fired');
    }
    return due.length;
  });
}
