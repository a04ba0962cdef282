import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';

const CHUNK = 10_000;

/** Runs a `DELETE … LIMIT ${CHUNK}` until it deletes fewer than a chunk, so no statement holds locks on millions of rows; resolves to how many. */
async function deleteInChunks(db: Database, chunk: () => SQL): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await db.execute(chunk());
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < CHUNK) return total;
  }
}

const daysBefore = (now: Date, days: number): string => new Date(now.getTime() - days * 86_400_000).toISOString();

/**
 * Deletes settled jobs fired longer ago than the retention, by the scheduler's clock. Jobs that
 * stand for "once ever" (reentry once, milestones) stay: their key is what keeps a customer from
 * entering again.
 */
export function purgeSettledJobs(db: Database, now: Date, retentionDays: number, keepCampaigns: string[]): Promise<number> {
  const cutoff = daysBefore(now, retentionDays);
  const keep = keepCampaigns.length === 0 ? sql`true` : sql`campaign_id NOT IN (${sql.join(keepCampaigns.map((id) => sql`${id}`), sql`, `)})`;
  return deleteInChunks(
    db,
    () => sql`
      DELETE FROM scheduler.jobs WHERE dedupe_key IN (
        SELECT dedupe_key FROM scheduler.jobs
        WHERE status <> 'pending' AND fired_at < ${cutoff}::timestamptz AND ${keep} LIMIT ${sql.raw(String(CHUNK))})`,
  );
}

/**
 * Deletes processed-record ids older than the retention (wall time: `firstTime` stamps them
 * with the process clock); resolves to how many.
 */
export function purgeProcessedEvents(db: Database, now: Date, retentionDays: number): Promise<number> {
  const cutoff = daysBefore(now, retentionDays);
  return deleteInChunks(
    db,
    () => sql`
      DELETE FROM scheduler.processed_events WHERE event_id IN (
        SELECT event_id FROM scheduler.processed_events WHERE processed_at < ${cutoff}::timestamptz LIMIT ${sql.raw(String(CHUNK))})`,
  );
}
