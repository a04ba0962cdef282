import { randomUUID } from 'node:crypto';
import { and, count, eq, getTableColumns, inArray, isNull, sql, type Param, type SQL } from 'drizzle-orm';
import type { MessageRequested } from '@lifecycle/contracts';
import { inTransaction, type Database, type Outbox, type OutboxTransaction, type Pool } from '@lifecycle/kit';
import { messageStatusEvent } from '../domain/message-event.ts';
import { isFinal, providerSettlesFrom, settlesFrom, type FinalOutcome, type SendStatus } from '../domain/send-policy.ts';
import { sends, type SendRow } from './schema.ts';

export type { FinalOutcome } from '../domain/send-policy.ts';

export interface NewClaim {
  dedupeKey: string;
  messageId: string;
  customerId: string;
  campaignId: string;
  templateId: string;
  /** The record itself, kept on the row while the send is open or doubtful so an operator can release it. */
  request: MessageRequested;
}

/** A key and the claim token of the attempt holding it. */
export interface HeldClaim {
  dedupeKey: string;
  claimToken: string;
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
   * Records an outcome on a row in one of the states it settles (`settlesFrom`), and its
   * `messages.events` record in the outbox in the same transaction: the status is reported
   * exactly when the outcome is recorded. With a claim token (string, or null for rows without
   * one) only that attempt's row; without one (a SendGrid event) any. Null when the row had moved
   * on (nothing reported). A `doubtful` row keeps its request (`request` fills it in on a row
   * claimed before requests were kept); any other outcome drops it. The status is reported as of
   * `reportAt` when given, else `now`.
   */
  finish: (dedupeKey: string, outcome: FinalOutcome, now: Date, claimToken?: string | null, request?: MessageRequested, reportAt?: Date) => Promise<SendRow | null>;
  /**
   * SendGrid reported it took the message (processed, delivered, opened, clicked): the row is
   * `sent`, whatever attempt holds it and whether or not its answer was lost, and `sent` is
   * reported in the same transaction. A webhook batch's settlements in one transaction (a key
   * given twice counts once, with its first provider id); the rows that moved, leaving out those
   * that already had another outcome (or do not exist).
   */
  settleAsSent: (settlements: readonly { dedupeKey: string; providerMessageId: string | null }[], now: Date) => Promise<SendRow[]>;
  /**
   * Keeps the first open and click the provider reported for each message (one statement for a
   * webhook batch); a redelivered or older report changes nothing but an earlier time.
   */
  recordEngagement: (reports: readonly { dedupeKey: string; kind: 'opened' | 'clicked'; at: Date }[]) => Promise<void>;
  /**
   * `claim` for many keys in one statement (the batch path); keys must be distinct. One result
   * per claim, in order: claimed here, or the row as found.
   */
  claimMany: (claims: NewClaim[], now: Date) => Promise<ClaimResult[]>;
  /** `markSending` for many claims in one statement, committed before any of their provider calls: the keys this attempt still held. */
  markSendingMany: (held: HeldClaim[], now: Date) => Promise<Set<string>>;
  /**
   * `finish` for many attempts holding their claims, all outcomes with their `messages.events`
   * records in one transaction (each as of its `reportAt` when given, else `now`). The rows that
   * moved (a row that moved on without us is left as it is).
   */
  finishMany: (outcomes: (HeldClaim & { outcome: FinalOutcome; reportAt?: Date })[], now: Date) => Promise<SendRow[]>;
  /** Rows per status. */
  countByStatus: () => Promise<Partial<Record<SendStatus, number>>>;
}

function tokenIs(claimToken: string | null): SQL {
  return claimToken === null ? isNull(sends.claimToken) : eq(sends.claimToken, claimToken);
}

/** Writes the `messages.events` record of a row's outcome to the outbox, in the transaction that recorded it. */
/** Writes each final row's `messages.events` record to the outbox, as of `now` or, where given, of the time `reportAt` has for its dedupe key. */
export async function reportOutcome(outbox: Outbox, tx: OutboxTransaction, rows: SendRow[], now: Date, reportAt?: ReadonlyMap<string, Date>): Promise<void> {
  const events = rows.flatMap((row) => (isFinal(row.status) ? [messageStatusEvent({ ...row, status: row.status }, reportAt?.get(row.dedupeKey) ?? now)] : []));
  await outbox.enqueue(tx, 'messageEvents', events);
}

export function createSendsRepository(deps: { db: Database; pool: Pool; outbox: Outbox }): SendsRepository {
  const { db, pool, outbox } = deps;
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
      .set({ status: 'claimed', messageId: values.messageId, request: values.request, claimToken: randomUUID(), claimedAt: now, updatedAt: now })
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

  const finish = async (dedupeKey: string, outcome: FinalOutcome, now: Date, claimToken?: string | null, request?: MessageRequested, reportAt?: Date): Promise<SendRow | null> => {
    // Kept only while an operator may still release the key; a request holds the recipient's address.
    const kept = outcome.status !== 'doubtful' ? null : request === undefined ? sends.request : sql`coalesce(${sends.request}, ${JSON.stringify(request)}::jsonb)`;
    return inTransaction(pool, async (tx) => {
      const [row] = await tx
        .update(sends)
        .set({ status: outcome.status, providerMessageId: outcome.providerMessageId ?? null, error: outcome.error ?? null, request: kept, updatedAt: now, reportedAt: now })
        .where(and(eq(sends.dedupeKey, dedupeKey), inArray(sends.status, [...settlesFrom(outcome.status)]), claimToken === undefined ? undefined : tokenIs(claimToken)))
        .returning();
      if (row === undefined) return null;
      await reportOutcome(outbox, tx, [row], now, reportAt === undefined ? undefined : new Map([[dedupeKey, reportAt]]));
      return row;
    });
  };

  const settleAsSent = async (settlements: readonly { dedupeKey: string; providerMessageId: string | null }[], now: Date): Promise<SendRow[]> => {
    const providerIds = new Map<string, string | null>();
    for (const s of settlements) if (!providerIds.has(s.dedupeKey)) providerIds.set(s.dedupeKey, s.providerMessageId);
    if (providerIds.size === 0) return [];
    // One statement for the batch: each key with its own provider id, from arrays side by side.
    const v = sql`unnest(${sql.param([...providerIds.keys()])}::text[], ${sql.param([...providerIds.values()])}::text[]) as v(v_key, v_provider_id)`;
    return inTransaction(pool, async (tx) => {
      const rows = await tx
        .update(sends)
        .set({ status: 'sent', providerMessageId: sql`v.v_provider_id`, error: null, request: null, updatedAt: now, reportedAt: now })
        .from(v)
        .where(and(sql`${sends.dedupeKey} = v.v_key`, inArray(sends.status, [...providerSettlesFrom])))
        .returning(getTableColumns(sends));
      await reportOutcome(outbox, tx, rows, now);
      return rows;
    });
  };

  const claimMany = async (values: NewClaim[], now: Date): Promise<ClaimResult[]> => {
    if (values.length === 0) return [];
    const inserted = await db
      .insert(sends)
      .values(values.map((v) => ({ ...v, status: 'claimed' as const, claimToken: randomUUID(), claimedAt: now, updatedAt: now })))
      .onConflictDoNothing({ target: sends.dedupeKey })
      .returning();
    const mine = new Map(inserted.map((row) => [row.dedupeKey, row]));
    const others = values.filter((v) => !mine.has(v.dedupeKey)).map((v) => v.dedupeKey);
    const found = others.length === 0 ? [] : await db.select().from(sends).where(inArray(sends.dedupeKey, others));
    const existing = new Map(found.map((row) => [row.dedupeKey, row]));
    return values.map((v): ClaimResult => {
      const claimed = mine.get(v.dedupeKey);
      if (claimed !== undefined) return { claimed: true, row: claimed };
      const row = existing.get(v.dedupeKey);
      if (row === undefined) throw new Error('a claimed dedupe key has no row');
      return { claimed: false, row };
    });
  };

  /** `(dedupe_key, claim_token)` is one of the pairs: a row some attempt of `held` still holds. */
  const heldBy = (held: HeldClaim[]): SQL =>
    sql`(${sends.dedupeKey}, ${sends.claimToken}) in (select * from unnest(${sql.param(held.map((h) => h.dedupeKey))}::text[], ${sql.param(held.map((h) => h.claimToken))}::text[]))`;

  const markSendingMany = async (held: HeldClaim[], now: Date): Promise<Set<string>> => {
    if (held.length === 0) return new Set();
    const moved = await db
      .update(sends)
      .set({ status: 'sending', updatedAt: now })
      .where(and(eq(sends.status, 'claimed'), heldBy(held)))
      .returning({ dedupeKey: sends.dedupeKey });
    return new Set(moved.map((m) => m.dedupeKey));
  };

  const finishMany = async (outcomes: (HeldClaim & { outcome: FinalOutcome; reportAt?: Date })[], now: Date): Promise<SendRow[]> => {
    if (outcomes.length === 0) return [];
    // One update for every status: each row settles only from the states its own outcome settles.
    const column = <T>(pick: (o: (typeof outcomes)[number]) => T): Param => sql.param(outcomes.map(pick));
    const v = sql`unnest(${column((o) => o.dedupeKey)}::text[], ${column((o) => o.claimToken)}::text[], ${column((o) => o.outcome.status)}::text[], ${column((o) => o.outcome.providerMessageId ?? null)}::text[], ${column((o) => o.outcome.error ?? null)}::text[], ${column((o) => settlesFrom(o.outcome.status).join(','))}::text[]) as v(v_key, v_token, v_status, v_provider_id, v_error, v_from)`;
    return inTransaction(pool, async (tx) => {
      const rows = await tx
        .update(sends)
        .set({
          status: sql`v.v_status::messaging.send_status`,
          providerMessageId: sql`v.v_provider_id`,
          error: sql`v.v_error`,
          // Kept only while an operator may still release the key; a request holds the recipient's address.
          request: sql`case when v.v_status = 'doubtful' then ${sends.request} end`,
          updatedAt: now,
          reportedAt: now,
        })
        .from(v)
        .where(and(sql`${sends.dedupeKey} = v.v_key`, sql`${sends.claimToken} = v.v_token`, sql`${sends.status}::text = any(string_to_array(v.v_from, ','))`))
        .returning(getTableColumns(sends));
      await reportOutcome(outbox, tx, rows, now, new Map(outcomes.flatMap((o) => (o.reportAt === undefined ? [] : [[o.dedupeKey, o.reportAt] as const]))));
      return rows;
    });
  };

  const countByStatus = async (): Promise<Partial<Record<SendStatus, number>>> => {
    const rows = await db.select({ status: sends.status, n: count() }).from(sends).groupBy(sends.status);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  };

  return {
    claim,
    claimMany,
    markSendingMany,
    finishMany,
    takeOver,
    markSending: (dedupeKey, claimToken, now) => move(dedupeKey, claimToken, 'claimed', 'sending', now),
    release: async (dedupeKey, claimToken, now) => {
      await move(dedupeKey, claimToken, 'sending', 'claimed', now);
    },
    finish,
    settleAsSent,
    recordEngagement: async (reports) => {
      if (reports.length === 0) return;
      const column = <K extends 'dedupeKey' | 'kind'>(key: K) => sql.param(reports.map((r) => r[key]));
      await db.execute(sql`
        UPDATE ${sends} s SET
          opened_at = CASE WHEN r.opened IS NULL THEN s.opened_at ELSE least(coalesce(s.opened_at, r.opened), r.opened) END,
          clicked_at = CASE WHEN r.clicked IS NULL THEN s.clicked_at ELSE least(coalesce(s.clicked_at, r.clicked), r.clicked) END
        FROM (
          SELECT key, min(at) FILTER (WHERE kind = 'opened') AS opened, min(at) FILTER (WHERE kind = 'clicked') AS clicked
          FROM unnest(${column('dedupeKey')}::text[], ${column('kind')}::text[], ${sql.param(reports.map((r) => r.at.toISOString()))}::timestamptz[]) AS u(key, kind, at)
          GROUP BY key
        ) r
        WHERE s.dedupe_key = r.key`);
    },
    countByStatus,
  };
}
