import type { Transaction } from '@lifecycle/kit';
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
