import { and, eq, inArray, lte, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ConsentChanged, ConsentState, MarketingFrequency, type MessageRequested } from '@lifecycle/contracts';
import { inTransaction, type Database, type Outbox, type Pool } from '@lifecycle/kit';
import { decideConsent, marketingAllowed, noConsent, type Consent, type ConsentDecision, type ConsentInput, type OptInProof } from '../domain/consent.ts';
import { normalizeAddress } from '../domain/suppression.ts';
import { consent, consentHistory, recipients, suppressions, type ConsentRow } from './schema.ts';

const Preference = z.enum(['subscribed', 'unsubscribed']).nullable();
const Block = z.enum(['bounced', 'complained']).nullable();
const OptIn = z.enum(['pending', 'confirmed']).nullable();

function consentFromRow(row: ConsentRow | undefined): Consent {
  if (row === undefined) return noConsent;
  return {
    preference: Preference.parse(row.preference),
    preferenceAt: row.preferenceAt,
    block: Block.parse(row.block),
    blockAt: row.blockAt,
    state: ConsentState.nullable().parse(row.state),
    sequence: row.sequence,
    topicsOptedOut: row.topicsOptedOut,
    frequency: MarketingFrequency.parse(row.frequency),
    preferencesAt: row.preferencesAt,
    optIn: OptIn.parse(row.optIn),
    // Written only by the decision, so it has that shape.
    optInProof: (row.optInProof as OptInProof | null) ?? null,
  };
}

export interface ConsentTarget {
  customerId: string;
  /** The address the input concerned, when known. */
  email: string | null;
}

export interface ConsentRepository {
  /**
   * Applies one input to the customer's consent in one transaction, the row locked: the new facts
   * and, when the state changed, its `consent.changes` record, written to the outbox in that
   * transaction and published by the relay after the commit.
   * `cause` is the id of what caused it, for the record's `causationId`. `requests`: messages to
   * request with the decision (a double opt-in's confirmation mail), in the same transaction.
   */
  apply: (target: ConsentTarget, input: ConsentInput, cause: string, now: Date, requests?: (decision: ConsentDecision) => MessageRequested[]) => Promise<ConsentDecision>;
  /** Topic ids each customer left in the preference center, by customer id (absent: none). */
  topicsOptedOutOf: (customerIds: readonly string[]) => Promise<Map<string, string[]>>;
  find: (customerId: string) => Promise<Consent & { email: string | null }>;
  /**
   * The state that forbids marketing mail to this customer at this address: the customer's own,
   * or that of any customer whose consent concerns the same address (an opt-out is the address
   * owner's, whichever customer id the store filed it under). Null when marketing may go.
   */
  blocking: (customerId: string, email: string) => Promise<string | null>;
  /** `blocking` for many customers and addresses at once (one statement), in the order asked. */
  blockingMany: (targets: readonly { customerId: string; email: string }[]) => Promise<(string | null)[]>;
  /** The customers an address belongs to, as far as messaging has seen. */
  customersOf: (email: string) => Promise<string[]>;
  /** Remembers that an address belongs to a customer (first sighting kept). */
  remember: (email: string, customerId: string, now: Date) => Promise<void>;
  /** `remember` for many at once (one statement). */
  rememberMany: (pairs: readonly { email: string; customerId: string }[], now: Date) => Promise<void>;
  /** Removes address-level suppressions of these reasons; resolves to how many. */
  removeAddressSuppressions: (email: string, reasons: ('unsubscribed' | 'bounced' | 'spam-report')[], before?: Date) => Promise<number>;
}

export function createConsentRepository(deps: { db: Database; pool: Pool; outbox: Outbox }): ConsentRepository {
  const { db, pool, outbox } = deps;
  const removeAddressSuppressions: ConsentRepository['removeAddressSuppressions'] = async (email, reasons, before) => {
    const removed = await db
      .delete(suppressions)
      .where(and(eq(suppressions.email, normalizeAddress(email)), inArray(suppressions.reason, reasons), before === undefined ? undefined : lte(suppressions.createdAt, before)))
      .returning({ email: suppressions.email });
    return removed.length;
  };

  return {
    apply: async (target, input, cause, now, requests) => {
      const email = target.email === null ? null : normalizeAddress(target.email);
      const decision = await inTransaction(pool, async (tx) => {
        await tx.insert(consent).values({ customerId: target.customerId, email, updatedAt: now }).onConflictDoNothing();
        const [row] = await tx.select().from(consent).where(eq(consent.customerId, target.customerId)).for('update');
        const decided = decideConsent(consentFromRow(row), input);
        if (decided.outcome === 'unchanged') return decided;
        const { next } = decided;
        await tx
          .update(consent)
          .set({ ...next, ...(email === null ? {} : { email }), updatedAt: now })
          .where(eq(consent.customerId, target.customerId));
        if (decided.outcome === 'changed') {
          const { change } = decided;
          const record: ConsentChanged = {
            id: `consent:${target.customerId}:${change.sequence}`,
            type: 'consent.changed',
            version: 1,
            occurredAt: now.toISOString(),
            customerId: target.customerId,
            causationId: cause,
            payload: {
              ...change,
              consentAt: change.consentAt.toISOString(),
              preferences: { ...change.preferences, at: change.preferences.at === null ? null : change.preferences.at.toISOString() },
            },
          };
          await tx
            .insert(consentHistory)
            .values({ customerId: target.customerId, sequence: change.sequence, state: change.state, previousState: change.previousState, source: change.source, consentAt: change.consentAt, recordedAt: now })
            .onConflictDoNothing();
          await outbox.enqueue(tx, 'consentChanges', [record]);
        }
        const requested = requests?.(decided) ?? [];
        if (requested.length > 0) await outbox.enqueue(tx, 'messagesRequested', requested);
        return decided;
      });
      // An address-level opt-out from before consent was kept per customer must not outlive a later re-subscription.
      if (input.kind === 'subscribe' && email !== null && decision.outcome !== 'unchanged') await removeAddressSuppressions(email, ['unsubscribed'], input.at);
      return decision;
    },
    topicsOptedOutOf: async (customerIds) => {
      if (customerIds.length === 0) return new Map();
      const rows = await db
        .select({ customerId: consent.customerId, topics: consent.topicsOptedOut })
        .from(consent)
        .where(inArray(consent.customerId, [...new Set(customerIds)]));
      return new Map(rows.filter((r) => r.topics.length > 0).map((r) => [r.customerId, r.topics]));
    },
    find: async (customerId) => {
      const [row] = await db.select().from(consent).where(eq(consent.customerId, customerId));
      return { ...consentFromRow(row), email: row?.email ?? null };
    },
    blocking: async (customerId, email) => {
      const rows = await db
        .select({ customerId: consent.customerId, state: consent.state })
        .from(consent)
        .where(sql`${consent.customerId} = ${customerId} OR ${consent.email} = ${normalizeAddress(email)}`);
      const states = rows.map((r) => ConsentState.nullable().parse(r.state));
      return states.find((state) => state !== null && !marketingAllowed(state)) ?? null;
    },
    blockingMany: async (targets) => {
      if (targets.length === 0) return [];
      const asked = targets.map((t) => ({ customerId: t.customerId, email: normalizeAddress(t.email) }));
      const rows = await db
        .select({ customerId: consent.customerId, email: consent.email, state: consent.state })
        .from(consent)
        .where(or(inArray(consent.customerId, [...new Set(asked.map((t) => t.customerId))]), inArray(consent.email, [...new Set(asked.map((t) => t.email))])));
      const parsed = rows.map((r) => ({ ...r, state: ConsentState.nullable().parse(r.state) }));
      return asked.map(({ customerId, email }) => parsed.find((r) => (r.customerId === customerId || r.email === email) && r.state !== null && !marketingAllowed(r.state))?.state ?? null);
    },
    customersOf: async (email) => {
      const address = normalizeAddress(email);
      const rows = await db.execute<{ customer_id: string }>(sql`
        SELECT customer_id FROM ${recipients} WHERE email = ${address}
        UNION SELECT customer_id FROM ${consent} WHERE email = ${address}
        ORDER BY 1`);
      return rows.rows.map((r) => r.customer_id);
    },
    remember: async (email, customerId, now) => {
      await db.insert(recipients).values({ email: normalizeAddress(email), customerId, seenAt: now }).onConflictDoNothing();
    },
    rememberMany: async (pairs, now) => {
      if (pairs.length === 0) return;
      await db
        .insert(recipients)
        .values(pairs.map((p) => ({ email: normalizeAddress(p.email), customerId: p.customerId, seenAt: now })))
        .onConflictDoNothing();
    },
    removeAddressSuppressions,
  };
}
