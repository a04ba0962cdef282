import type { Transaction } from '@lifecycle/kit';
import { sql } from 'drizzle-orm';
import { processedEvents } from './schema.ts';

/**
 * Records a consumed record's id in the caller's transaction; false when it was seen before (a
 * redelivery). Stamped with this process's clock, the one the purge compares with, never the
 * database's now().
 */
export async function firstTime(tx: Transaction, eventId: string): Promise<boolean> {
  const fresh = await tx.insert(processedEvents).values({ eventId, processedAt: new Date() }).onConflictDoNothing().returning({ eventId: processedEvents.eventId });
  return fresh.length > 0;
}

/** Records many consumed ids in one statement; returns those not seen before (each once). */
export async function firstTimes(tx: Transaction, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const { rows } = await tx.execute<{ event_id: string }>(sql`
    INSERT INTO scheduler.processed_events (event_id, processed_at)
    SELECT id, ${new Date().toISOString()}::timestamptz FROM jsonb_array_elements_text(${JSON.stringify(eventIds)}::jsonb) AS id
    ON CONFLICT DO NOTHING
    RETURNING event_id`);
  return new Set(rows.map((r) => r.event_id));
}
