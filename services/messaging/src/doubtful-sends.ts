import { and, asc, eq, isNotNull, isNull, lte, or } from 'drizzle-orm';
import { MessageRequested } from '@lifecycle/contracts';
import { inTransaction, type Database, type Logger, type Outbox, type Pool } from '@lifecycle/kit';
import { sends, type SendRow } from './db/schema.ts';
import { releaseVerdict } from './domain/doubtful-release.ts';
import { runMessagingCommand, type MessagingCommandOptions } from './messaging-command.ts';

/** A doubtful send as the operator sees it: no address, only ids. */
export interface DoubtfulSend {
  dedupeKey: string;
  customerId: string;
  campaignId: string;
  templateId: string;
  /** `doubtful`, or `claimed` for a release not taken up yet. */
  status: string;
  /** When it became doubtful (or was released). */
  since: Date;
  error: string | null;
  releasedAt: Date | null;
  /** Its `messages.requested` record is stored, so it can be released. */
  releasable: boolean;
}

export type ReleaseOutcome =
  | { dedupeKey: string; released: true; republished: boolean; customerId: string; campaignId: string }
  | { dedupeKey: string; released: false; reason: string };

export interface DoubtfulSends {
  /** Doubtful sends unsettled for at least `olderThanMs`, oldest first, and releases not taken up yet. */
  list: (olderThanMs: number) => Promise<DoubtfulSend[]>;
  /** Releases one send, or every listed one, for one more try (see domain/doubtful-release.ts). */
  release: (target: { dedupeKey: string } | { olderThanMs: number }) => Promise<ReleaseOutcome[]>;
}

function view(row: SendRow): DoubtfulSend {
  return {
    dedupeKey: row.dedupeKey,
    customerId: row.customerId,
    campaignId: row.campaignId,
    templateId: row.templateId,
    status: row.status,
    since: row.updatedAt,
    error: row.error,
    releasedAt: row.releasedAt,
    releasable: row.request !== null,
  };
}

const pendingRelease = and(eq(sends.status, 'claimed'), isNull(sends.claimToken), isNotNull(sends.releasedAt));

export function createDoubtfulSends(deps: { db: Database; pool: Pool; outbox: Outbox; logger: Logger; now: () => Date }): DoubtfulSends {
  const { db } = deps;

  const rows = async (olderThanMs: number): Promise<SendRow[]> => {
    const cutoff = new Date(deps.now().getTime() - olderThanMs);
    return db
      .select()
      .from(sends)
      .where(or(and(eq(sends.status, 'doubtful'), lte(sends.updatedAt, cutoff)), pendingRelease))
      .orderBy(asc(sends.updatedAt), asc(sends.dedupeKey));
  };

  const releaseOne = async (found: SendRow | undefined, dedupeKey: string): Promise<ReleaseOutcome> => {
    const verdict = releaseVerdict(found === undefined ? undefined : { ...found, hasRequest: found.request !== null });
    if (verdict.action === 'refuse') return { dedupeKey, released: false, reason: verdict.reason };
    if (found === undefined) throw new Error('a release verdict for a send that does not exist');
    const stored = MessageRequested.safeParse(found.request);
    if (!stored.success) return { dedupeKey, released: false, reason: 'the stored request does not match the messages.requested contract' };
    const now = deps.now();
    // The row moves and the request goes into the outbox in one transaction: the record is published exactly when the release committed.
    const taken = await inTransaction(deps.pool, async (tx) => {
      const held =
        verdict.action === 'release'
          ? // Only if still doubtful: a SendGrid event may have settled it since it was read.
            await tx
              .update(sends)
              .set({ status: 'claimed', claimToken: null, releasedAt: now, updatedAt: now })
              .where(and(eq(sends.dedupeKey, dedupeKey), eq(sends.status, 'doubtful')))
              .returning({ dedupeKey: sends.dedupeKey })
          : // Only if the service has not taken the earlier release up (or a SendGrid event settled it) meanwhile.
            await tx.select({ dedupeKey: sends.dedupeKey }).from(sends).where(and(eq(sends.dedupeKey, dedupeKey), pendingRelease)).for('update');
      if (held.length === 0) return false;
      await deps.outbox.enqueue(tx, 'messagesRequested', [stored.data]);
      return true;
    });
    if (!taken) return { dedupeKey, released: false, reason: verdict.action === 'release' ? 'the send was settled meanwhile' : 'the release was taken up meanwhile' };
    deps.logger.info({ dedupeKey, customerId: found.customerId, campaignId: found.campaignId, republished: verdict.action === 'republish' }, 'doubtful send released by an operator for one more try');
    return { dedupeKey, released: true, republished: verdict.action === 'republish', customerId: found.customerId, campaignId: found.campaignId };
  };

  return {
    list: async (olderThanMs) => (await rows(olderThanMs)).map(view),
    release: async (target) => {
      if ('dedupeKey' in target) {
        const [found] = await db.select().from(sends).where(eq(sends.dedupeKey, target.dedupeKey));
        return [await releaseOne(found, target.dedupeKey)];
      }
      const outcomes: ReleaseOutcome[] = [];
      for (const row of await rows(target.olderThanMs)) outcomes.push(await releaseOne(row, row.dedupeKey));
      return outcomes;
    },
  };
}

/**
 * `./lifecycle messages:doubtful` and `messages:release-doubtful`: run messaging's own code
 * against its database, like `consent:lift`; a release returns once its request is on Kafka.
 */
export async function withDoubtfulSends<T>(opts: MessagingCommandOptions, run: (doubtful: DoubtfulSends) => Promise<T>): Promise<T> {
  return runMessagingCommand('messaging-doubtful', opts, ({ runtime, outbox, logger, now }) => run(createDoubtfulSends({ db: runtime.db, pool: runtime.pool, outbox, logger, now })));
}
