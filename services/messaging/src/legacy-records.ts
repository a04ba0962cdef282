import { and, inArray, isNotNull, isNull } from 'drizzle-orm';
import { ConsentChanged } from '@lifecycle/contracts';
import { inTransaction, type Logger, type Outbox, type Pool } from '@lifecycle/kit';
import { consentOutbox, sends } from './db/schema.ts';
import { reportOutcome } from './db/sends-repository.ts';
import { isFinal, sendStatuses } from './domain/send-policy.ts';

/** What start-up moved into the outbox. */
export interface LegacyRecords {
  consentChanges: number;
  statuses: number;
}

const finalStatuses = sendStatuses.filter(isFinal);

/**
 * Before messaging wrote its records to the kit's outbox, it published them itself after each
 * commit, and a crash or a Kafka outage could leave some behind: consent changes in its own
 * `consent_outbox` (unpublished), and outcomes never reported (a final send without
 * `reported_at`). At start-up, before the consumers start, one transaction writes those records
 * to the outbox, marks the sends reported and empties `consent_outbox`; the relay publishes them
 * like any other. Since then every outcome is reported in its own transaction, so this finds
 * nothing: a start of the new code after the upgrade is the one that moves them. The records carry
 * the ids they would have had (`consent:<customer>:<sequence>`, `message-status:<key>:<status>`),
 * so one that did go out after all is dropped by its consumers.
 */
export async function enqueueLegacyRecords(deps: { pool: Pool; outbox: Outbox; now: Date; logger: Logger }): Promise<LegacyRecords> {
  const { outbox, now } = deps;
  const moved = await inTransaction(deps.pool, async (tx) => {
    const left = await tx.delete(consentOutbox).where(isNull(consentOutbox.publishedAt)).returning();
    // Each customer's changes in the order they were made.
    const changes = left.map((row) => ({ createdAt: row.createdAt.getTime(), record: ConsentChanged.parse(row.record) })).sort((a, b) => a.createdAt - b.createdAt || a.record.payload.sequence - b.record.payload.sequence);
    await outbox.enqueue(
      tx,
      'consentChanges',
      changes.map((c) => c.record),
    );
    // The published ones are history nobody reads.
    await tx.delete(consentOutbox).where(isNotNull(consentOutbox.publishedAt));
    const unreported = await tx
      .update(sends)
      .set({ reportedAt: now })
      .where(and(isNull(sends.reportedAt), inArray(sends.status, finalStatuses)))
      .returning();
    unreported.sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || a.dedupeKey.localeCompare(b.dedupeKey));
    await reportOutcome(outbox, tx, unreported, now);
    return { consentChanges: changes.length, statuses: unreported.length };
  });
  if (moved.consentChanges > 0 || moved.statuses > 0) deps.logger.info(moved, 'records left unpublished before the outbox written to it');
  return moved;
}
