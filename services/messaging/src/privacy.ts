import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { PrivacyCompleted, PrivacyRequested } from '@lifecycle/contracts';
import { applyPrivacyTables, notPrivacyRecords, privacyConfirmation, privacyRequestHandler, topicConsumerComponent, type ConsumerComponent, type Database, type Outbox, type PrivacyTableRule, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what messaging holds on a customer: consent and its
 * history, the addresses it mailed (recipients, link ids, suppressions), sends' request payloads,
 * coupons' link to the customer, and earlier exports. One transaction per request: the effect and
 * the confirmation on `privacy.responses` commit together. An erase keeps a SHA-256 of each
 * address in `erased_addresses`, so marketing never reaches it again by mistake (see `erasedAddressCheck`).
 */

/** What the customer's rows are: by id, or by one of their lower-cased addresses. */
interface Match {
  customerId: string;
  emails: string[];
  /** The request's time: earlier exports of the customer are emptied by an erase. */
  at: string;
}

const emailsOf = (m: Match): SQL => sql`${sql.param(m.emails)}::text[]`;

/** Every table of the `messaging` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): PrivacyTableRule<Match>[] => [
  { table: 'consent', rows: (m) => sql`customer_id = ${m.customerId}` },
  { table: 'consent_history', rows: (m) => sql`customer_id = ${m.customerId}` },
  { table: 'consent_outbox', rows: (m) => sql`customer_id = ${m.customerId}` },
  { table: 'recipients', rows: (m) => sql`customer_id = ${m.customerId} OR lower(email) = ANY(${emailsOf(m)})` },
  { table: 'address_ids', rows: (m) => sql`lower(email) = ANY(${emailsOf(m)})` },
  { table: 'suppressions', rows: (m) => sql`lower(email) = ANY(${emailsOf(m)})` },
  // The send rows stay (a redelivered request must not go out again); the request they kept carries the address and name.
  {
    table: 'sends',
    rows: (m) => sql`customer_id = ${m.customerId}`,
    anonymize: (m) => sql`request = NULL, error = CASE WHEN EXISTS (SELECT 1 FROM unnest(${emailsOf(m)}) AS e(a) WHERE strpos(lower(error), e.a) > 0) THEN 'erased' ELSE error END`,
  },
  // Codes stay counted for their campaign; who got them does not.
  { table: 'coupons', rows: (m) => sql`customer_id = ${m.customerId}`, anonymize: () => sql`customer_id = NULL` },
  {
    table: 'privacy_requests',
    rows: (m) => sql`customer_id = ${m.customerId} AND kind = 'export' AND exported IS NOT NULL AND requested_at <= ${m.at}::timestamptz`,
    anonymize: () => sql`exported = NULL`,
    notExported: true,
  },
  // Consent changes and message events not yet relayed; relayed rows are deleted by the relay.
  // Privacy records themselves stay: a pending request or confirmation must still go out.
  { table: 'outbox', rows: (m) => sql`key = ${m.customerId} AND ${notPrivacyRecords(prefix)}` },
];

/** Tables that hold nothing that names a customer's person, and why they stay. */
export const keptTables: Record<string, string> = {
  coupon_redemptions: 'codes and order ids, with no customer',
  erased_addresses: 'SHA-256 of erased addresses, so they are never mailed marketing by mistake',
  __drizzle_migrations: 'migrations applied',
};

const kept = [
  'messaging.erased_addresses: a SHA-256 of each address, so it gets no marketing mail until the customer subscribes again',
  'messaging.sends: the send rows without request or address, so a redelivered message is not sent again',
  'messaging.privacy_requests: the record of this request (customer id, kind, when, who asked)',
];

/** How an erased address is kept: the SHA-256 of its lower-cased form, never the address. */
export function addressHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');
}

/** The customer's addresses, lower-cased: from consent, mail sent to them and their sends' requests. */
async function addressesOf(tx: Transaction, customerId: string): Promise<string[]> {
  const found = await tx.execute<{ email: string }>(sql`
    SELECT lower(email) AS email FROM messaging.consent WHERE customer_id = ${customerId} AND email IS NOT NULL
    UNION SELECT lower(email) FROM messaging.recipients WHERE customer_id = ${customerId}
    UNION SELECT lower(request #>> '{payload,recipient,email}') FROM messaging.sends WHERE customer_id = ${customerId} AND request #>> '{payload,recipient,email}' IS NOT NULL`);
  return found.rows.map((r) => r.email);
}

/** Erases or gathers the customer's rows in `tx`; the confirmation to publish. */
export async function actOnPrivacyRequest(tx: Transaction, prefix: string, request: PrivacyRequested): Promise<PrivacyCompleted> {
  const match: Match = { customerId: request.customerId, emails: await addressesOf(tx, request.customerId), at: request.occurredAt };
  const erase = request.payload.kind === 'erase';
  const done = await applyPrivacyTables(tx, 'messaging', privacyTables(prefix), match, request.payload.kind);
  if (erase && match.emails.length > 0) {
    // The request's time: a subscription after it (a new `Email Subscribed`) lifts the suppression.
    await tx.execute(sql`
      INSERT INTO messaging.erased_addresses (email_hash, erased_at) SELECT unnest(${sql.param(match.emails.map(addressHash))}::text[]), ${request.occurredAt}::timestamptz
      ON CONFLICT (email_hash) DO UPDATE SET erased_at = greatest(messaging.erased_addresses.erased_at, excluded.erased_at)`);
  }
  return privacyConfirmation(request, 'messaging', { ...done, kept });
}

/**
 * Which of these recipients must have marketing suppressed as erased: the address was erased, and
 * the customer has not subscribed again since (a consent row subscribed after the erase). One
 * statement for a whole chunk of requests.
 */
export function erasedAddressCheck(db: Database): (recipients: readonly { customerId: string; email: string }[]) => Promise<boolean[]> {
  return async (recipients) => {
    if (recipients.length === 0) return [];
    const found = await db.execute<{ i: string }>(sql`
      SELECT r.i FROM unnest(${sql.param(recipients.map((r) => addressHash(r.email)))}::text[], ${sql.param(recipients.map((r) => r.customerId))}::text[]) WITH ORDINALITY AS r(email_hash, customer_id, i)
      JOIN messaging.erased_addresses e ON e.email_hash = r.email_hash
      WHERE NOT EXISTS (SELECT 1 FROM messaging.consent c WHERE c.customer_id = r.customer_id AND c.preference = 'subscribed' AND c.preference_at > e.erased_at)`);
    const erased = new Set(found.rows.map((r) => Number(r.i) - 1));
    return recipients.map((_, i) => erased.has(i));
  };
}

/**
 * The `privacy.requests` consumer. Idempotent: a redelivered erase finds nothing left and confirms
 * again with the same envelope id, which the coordinator drops.
 */
export function privacyConsumer(runtime: Runtime, outbox: Outbox): ConsumerComponent {
  return topicConsumerComponent({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    logger: runtime.logger,
    groupId: 'lifecycle-messaging-privacy',
    topic: 'privacyRequests',
    handle: privacyRequestHandler(runtime, (tx, request) => actOnPrivacyRequest(tx, runtime.prefix, request), (tx, done) => outbox.enqueue(tx, 'privacyResponses', [done])),
  });
}
