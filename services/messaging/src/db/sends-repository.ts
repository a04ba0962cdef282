import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { settlesFrom, type FinalOutcome, type SendStatus } from '../domain/send-policy.ts';
import { sends, type SendRow } from './schema.ts';

export type { FinalOutcome } from '../domain/send-policy.ts';

export interface NewClaim {
  dedupeKey: string;
  messageId: string;
  customerId: string;
  campaignId: string;
  templateId: string;
}

/** `claimed: true`: this attempt holds the key (`row.claimToken`); false: the row as found. */
export type ClaimResult = { claimed: true; row: SendRow } | { claimed: false; row: SendRow };

export interface SendsRepository {
  /** Claims a free key as `claimed` with a new claim token; committed on its own, before anything is sent. */
  claim: (claim: NewClaim, now: Date) => Promise<ClaimResult>;
  /**
   * Takes a key over from an attempt that sent nothing: a new claim token, status `claimed`.
   * Null when the row is no longer as seen (another attempt moved it first).
   */
  takeOver: (seen: Pick<SendRow, 'dedupeKey' | 'status' | 'claimToken'>, claim: NewClaim, now: Date) => Promise<SendRow | null>;
  /**
   * `claimed` -> `sending`, committed just before the provider call. False when this attempt
   * no longer holds the claim: it must not call the provider.
   */
  markSending: (dedupeKey: string, claimToken: string, now: Date) => Promise<boolean>;
  /** `sending` -> `claimed` after a definite non-acceptance, so a crash while waiting to retry loses nothing. */
  release: (dedupeKey: string, claimToken: string, now: Date) => Promise<void>;
  /**
   * Records an outcome on a row in one of the states it settles (`settlesFrom`). With a claim
   * token (string, or null for rows without one) only that attempt's row; without one (a
   * SendGrid event) any. Null when the row had moved on.
   */
  finish: (dedupeKey: string, outcome: FinalOutcome, now: Date, claimToken?: string | null) => Promise<SendRow | null>;
  markReported: (dedupeKey: string, now: Date) => Promise<void>;
}

function tokenIs(claimToken: string | null): SQL {
  return claimToken === null ? isNull(sends.claimToken) : eq(sends.claimToken, claimToken);
}

export function createSendsRepository(db: Database): SendsRepository {
  const find = async (dedupeKey: string): Promise<SendRow | undefined> => {
    const [row] = await db.select().from(sends).where(eq(sends.dedupeKey, dedupeKey));
    return row;
  };

  const claim = async (values: NewClaim, now: Date): Promise<ClaimResult> => {
    // Rows are never deleted, so a conflict means the row is there to read.
    const [inserted] = await db
      .insert(sends)
      .values({ ...values, status: 'claimed', claimToken: randomUUID(), claimedAt: now, updatedAt: now })
      .onConflictDoNothing({ target: sends.dedupeKey })
      .returning();
    if (inserted !== undefined) return { claimed: true, row: inserted };
    const existing = await find(values.dedupeKey);
    if (existing === undefined) throw new Error('a claimed dedupe key has no row');
    return { claimed: false, row: existing };
  };

  const takeOver = async (seen: Pick<SendRow, 'dedupeKey' | 'status' | 'claimToken'>, values: NewClaim, now: Date): Promise<SendRow | null> => {
    const [row] = await db
      .update(sends)
      .set({ status: 'claimed', messageId: values.messageId, claimToken: randomUUID(), claimedAt: now, updatedAt: now })
      .where(and(eq(sends.dedupeKey, seen.dedupeKey), eq(sends.status, seen.status), tokenIs(seen.claimToken)))
      .returning();
    return row ?? null;
  };

  const move = async (dedupeKey: string, claimToken: string, from: SendStatus, to: SendStatus, now: Date): Promise<boolean> => {
    const moved = await db
      .update(sends)
      .set({ status: to, updatedAt: now })
      .where(and(eq(sends.dedupeKey, dedupeKey), eq(sends.status, from), eq(sends.claimToken, claimToken)))
      .returning({ dedupeKey: sends.dedupeKey });
    return moved.length === 1;
  };

  const finish = async (dedupeKey: string, outcome: FinalOutcome, now: Date, claimToken?: string | null): Promise<SendRow | null> => {
    const [row] = await db
      .update(sends)
      .set({ status: outcome.status, providerMessageId: outcome.providerMessageId ?? null, error: outcome.error ?? null, updatedAt: now })
      .where(and(eq(sends.dedupeKey, dedupeKey), inArray(sends.status, [...settlesFrom(outcome.status)]), claimToken === undefined ? undefined : tokenIs(claimToken)))
      .returning();
    return row ?? null;
  };

  const markReported = async (dedupeKey: string, now: Date): Promise<void> => {
    await db.update(sends).set({ reportedAt: now }).where(eq(sends.dedupeKey, dedupeKey));
  };

  return {
    claim,
    takeOver,
    markSending: (dedupeKey, claimToken, now) => move(dedupeKey, claimToken, 'claimed', 'sending', now),
    release: async (dedupeKey, claimToken, now) => {
      await move(dedupeKey, claimToken, 'sending', 'claimed', now);
    },
    finish,
    markReported,
  };
}
