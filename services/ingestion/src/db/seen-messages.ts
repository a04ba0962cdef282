import { lt } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { dedupeCutoff } from '../domain/dedupe-window.ts';
import { seenMessages } from './schema.ts';

/** Deletes remembered messageIds older than the retention window; resolves to how many. */
export async function purgeExpiredMessages(db: Database, now: Date, retentionDays: number): Promise<number> {
  const deleted = await db.delete(seenMessages).where(lt(seenMessages.firstSeenAt, dedupeCutoff(now, retentionDays))).returning({ messageId: seenMessages.messageId });
  return deleted.length;
}
