import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import type { FinalStatus } from '../domain/send-policy.ts';
import { sends, type SendRow } from './schema.ts';

export interface NewClaim {
  dedupeKey: string;
  messageId: string;
  customerId: string;
  campaignId: string;
  templateId: string;
}

export type ClaimResult = { claimed: true; row: SendRow } | { claimed: false; row: SendRow };

export interface FinalOutcome {
  status: FinalStatus;
  providerMessageId?: string | null;
  error?: string | null;
}

export interface SendsRepository {
  /** Claims the key for this attempt; committed on its own before anything is sent. */
  claim: (claim: NewClaim, now: Date) => Promise<ClaimResult>;
  /**
   * Records the outcome of a claim still open. `sent` also settles a `doubtful` row: an answer
   * from the provider is better knowledge than a guess. Null when the row had moved on.
   */
  finish: (dedupeKey: string, outcome: FinalOutcome, now: Date) => Promise<SendRow | null>;
  /** Gives the key back after a definite non-acceptance, so a later attempt can claim it. */
  release: (dedupeKey: string) => Promise<void>;
  markReported: (dedupeKey: string, now: Date) => Promise<void>;
}

export function createSendsRepository(db: Database): SendsRepository {
  const find = async (dedupeKey: string): Promise<SendRow | undefined> => {
    const [row] = await db.select().from(sends).where(eq(sends.dedupeKey, dedupeKey));
    return row;
  };

  const claim = async (values: NewClaim, now: Date): Promise<ClaimResult> => {
    // Two tries: between our insert and our select a released claim can disappear.
    for (let attempt = 0; attempt < 2; attempt++) {
      const [inserted] = await db
        .insert(sends)
        .values({ ...values, status: 'sending', claimedAt: now, updatedAt: now })
        .onConflictDoNothing({ target: sends.dedupeKey })
        .returning();
      if (inserted !== undefined) return { claimed: true, row: inserted };
      const existing = await find(values.dedupeKey);
      if (existing !== undefined) return { claimed: false, row: existing };
    }
    throw new Error('the claim of a dedupe key kept disappearing');
  };

  const finish = async (dedupeKey: string, outcome: FinalOutcome, now: Date): Promise<SendRow | null> => {
    const from = outcome.status === 'sent' ? (['sending', 'doubtful'] as const) : (['sending'] as const);
    const [row] = await db
      .update(sends)
      .set({ status: outcome.status, providerMessageId: outcome.providerMessageId ?? null, error: outcome.error ?? null, updatedAt: now })
      .where(and(eq(sends.dedupeKey, dedupeKey), inArray(sends.status, [...from])))
      .returning();
    return row ?? null;
  };

  const release = async (dedupeKey: string): Promise<void> => {
    await db.delete(sends).where(and(eq(sends.dedupeKey, dedupeKey), eq(sends.status, 'sending')));
  };

  const markReported = async (dedupeKey: string, now: Date): Promise<void> => {
    await db.update(sends).set({ reportedAt: now }).where(eq(sends.dedupeKey, dedupeKey));
  };

  return { claim, finish, release, markReported };
}
