import { and, asc, eq, lte, sql } from 'drizzle-orm';
import { inTransaction, type Outbox, type Runtime, type TopicConsumerOptions } from '@lifecycle/kit';
import type { TimerFired, TimerRequested } from '@lifecycle/contracts';
import { anyOf } from './db/any-of.ts';
import { firstTimes } from './db/processed-events.ts';
import { timers } from './db/schema.ts';

/**
 * Stores a partition's batch of timer requests in one transaction. The latest request for a
 * timer id (in offset order) replaces the earlier ones (a new order moves the classifier's
 * silence check), and a redelivered request changes nothing.
 */
export function timerRequestsBatchHandler(runtime: Runtime, onRequested: () => void): NonNullable<TopicConsumerOptions<'timersRequested'>['handleBatch']> {
  const { logger } = runtime;
  return async (items) => {
    const applied = await inTransaction(runtime.pool, async (tx) => {
      const fresh = await firstTimes(
        tx,
        items.map((i) => i.value.id),
      );
      const latest = new Map<string, TimerRequested>();
      for (const { value } of items) {
        if (!fresh.delete(value.id)) continue;
        latest.delete(value.payload.timerId);
        latest.set(value.payload.timerId, value);
      }
      if (latest.size === 0) return [];
      const rows = [...latest.values()].map((r) => ({ timer_id: r.payload.timerId, owner: r.payload.owner, customer_id: r.customerId, fire_at: r.payload.fireAt, data: r.payload.data, request_id: r.id }));
      await tx.execute(sql`
        INSERT INTO scheduler.timers (timer_id, owner, customer_id, fire_at, status, data, request_id, fired_at)
        SELECT x.timer_id, x.owner, x.customer_id, x.fire_at, 'pending', x.data, x.request_id, NULL
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(timer_id text, owner text, customer_id text, fire_at timestamptz, data jsonb, request_id text)
        ON CONFLICT (timer_id) DO UPDATE SET owner = excluded.owner, customer_id = excluded.customer_id, fire_at = excluded.fire_at,
          status = 'pending', data = excluded.data, request_id = excluded.request_id, fired_at = NULL`);
      return [...latest.values()];
    });
    if (applied.length === 0) return;
    for (const r of applied) logger.debug({ timerId: r.payload.timerId, owner: r.payload.owner, customerId: r.customerId, fireAt: r.payload.fireAt }, 'timer set');
    onRequested();
  };
}

/** Stores one timer request (and the records of a failed batch, one at a time). */
export function timerRequestHandler(runtime: Runtime, onRequested: () => void): TopicConsumerOptions<'timersRequested'>['handle'] {
  const batch = timerRequestsBatchHandler(runtime, onRequested);
  return (request, record) => batch([{ value: request, record }]);
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
    await tx
      .update(timers)
      .set({ status: 'fired', firedAt: now })
      .where(
        anyOf(
          timers.timerId,
          due.map((t) => t.timerId),
        ),
      );
    for (const t of due) logger.debug({ timerId: t.timerId, owner: t.owner, customerId: t.customerId }, 'timer fired');
    return due.length;
  });
}
