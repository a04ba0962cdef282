import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { PrivacyCompleted, PrivacyRequested } from '@lifecycle/contracts';
import { applyPrivacyTables, notPrivacyRecords, privacyConfirmation, privacyRequestHandler, topicConsumerComponent, type ConsumerComponent, type Outbox, type PrivacyTableRule, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what the classifier holds on a customer: the profile (with
 * email and first name), its stage history, anonymous ids merged into it, engagement held for it,
 * its RFM inputs and records still waiting in the outbox. One transaction per request: the effect
 * and the confirmation on `privacy.responses` commit together. An erase keeps only a SHA-256 of
 * the id with the erase time, so a replay or rebuild skips events from before it.
 */

const anyOf = (ids: string[]): SQL => sql`${sql.param(ids)}::text[]`;

/** Every table of the `classifier` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): PrivacyTableRule<string[]>[] => [
  { table: 'profiles', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  { table: 'stage_history', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  { table: 'aliases', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)}) OR anonymous_id = ANY(${anyOf(ids)})` },
  { table: 'held_message_events', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  { table: 'rfm_staging', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  // Stage changes and timer requests not yet relayed; relayed rows are deleted by the relay.
  // Privacy records themselves stay: a pending confirmation must still go out.
  { table: 'outbox', rows: (ids) => sql`key = ANY(${anyOf(ids)}) AND ${notPrivacyRecords(prefix)}` },
];

/** Tables that hold nothing that names a customer's person, and why they stay. */
export const keptTables: Record<string, string> = {
  processed_events: 'event ids only, so a redelivered event stays skipped',
  recurring: 'the RFM schedule, about no customer',
  rfm_runs: 'RFM runs and their cut points, about no customer',
  erased_customers: 'SHA-256 of erased customer ids with the erase time',
  __drizzle_migrations: 'migrations applied',
};

const kept = ['classifier.erased_customers: a SHA-256 of the customer id with the erase time, so a replay or rebuild skips events from before the erase'];

/** How an erased customer id is kept: its SHA-256, never the id. */
export function customerHash(customerId: string): string {
  return createHash('sha256').update(customerId, 'utf8').digest('hex');
}

/**
 * When each of these customers was erased (ms since the epoch), for those that were: their events
 * from before then are skipped, so a replay or rebuild does not bring the old profile back.
 */
export async function erasedAt(tx: Transaction, customerIds: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  if (customerIds.length === 0) return found;
  const byHash = new Map(customerIds.map((id) => [customerHash(id), id]));
  const rows = await tx.execute<{ customer_hash: string; erased_ms: number }>(sql`
    SELECT customer_hash, (extract(epoch FROM erased_at) * 1000)::float8 AS erased_ms
    FROM classifier.erased_customers WHERE customer_hash = ANY(${anyOf([...byHash.keys()])})`);
  for (const row of rows.rows) {
    const id = byHash.get(row.customer_hash);
    if (id !== undefined) found.set(id, Number(row.erased_ms));
  }
  return found;
}

/** The customer's id and the anonymous ids merged into it. */
async function customerIds(tx: Transaction, customerId: string): Promise<string[]> {
  const linked = await tx.execute<{ anonymous_id: string }>(sql`SELECT anonymous_id FROM classifier.aliases WHERE customer_id = ${customerId}`);
  return [customerId, ...linked.rows.map((r) => r.anonymous_id)];
}

/** Erases or gathers the customer's rows in `tx`; the confirmation to publish. */
export async function actOnPrivacyRequest(tx: Transaction, prefix: string, request: PrivacyRequested): Promise<PrivacyCompleted> {
  const ids = await customerIds(tx, request.customerId);
  const erase = request.payload.kind === 'erase';
  const done = await applyPrivacyTables(tx, 'classifier', privacyTables(prefix), ids, request.payload.kind);
  if (erase) {
    // The request's time, the same in every service: events that happened before it are the erased customer's.
    await tx.execute(sql`
      INSERT INTO classifier.erased_customers (customer_hash, erased_at) SELECT unnest(${anyOf(ids.map(customerHash))}), ${request.occurredAt}::timestamptz
      ON CONFLICT (customer_hash) DO UPDATE SET erased_at = greatest(classifier.erased_customers.erased_at, excluded.erased_at)`);
  }
  return privacyConfirmation(request, 'classifier', { ...done, kept });
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
    groupId: 'lifecycle-classifier-privacy',
    topic: 'privacyRequests',
    handle: privacyRequestHandler(runtime, (tx, request) => actOnPrivacyRequest(tx, runtime.prefix, request), (tx, done) => outbox.enqueue(tx, 'privacyResponses', [done])),
  });
}
