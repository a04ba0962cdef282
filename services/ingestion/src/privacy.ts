import { sql } from 'drizzle-orm';
import type { PrivacyCompleted, PrivacyRequested } from '@lifecycle/contracts';
import { applyPrivacyTables, notPrivacyRecords, privacyConfirmation, privacyRequestHandler, topicConsumerComponent, type ConsumerComponent, type Outbox, type PrivacyTableRule, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what ingestion holds on a customer: the calls it has seen
 * (dedupe rows), the anonymous ids linked to them, and clean events still waiting in the outbox.
 * One transaction per request: the effect and the confirmation on `privacy.responses` commit together.
 */


/** Every table of the `ingestion` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): PrivacyTableRule<string[]>[] => [
  { table: 'seen_messages', rows: (ids) => sql`customer_id = ANY(${sql.param(ids)}::text[])` },
  { table: 'identity_links', rows: (ids) => sql`user_id = ANY(${sql.param(ids)}::text[]) OR anonymous_id = ANY(${sql.param(ids)}::text[])` },
  // Clean events not yet on `lifecycle.events` carry the traits; relayed rows are deleted by the relay.
  // Privacy records themselves stay: a pending confirmation must still go out.
  { table: 'outbox', rows: (ids) => sql`key = ANY(${sql.param(ids)}::text[]) AND ${notPrivacyRecords(prefix)}` },
];

/** Tables that hold nothing about a customer (the migrations' own record). */
export const keptTables: Record<string, string> = { __drizzle_migrations: 'migrations applied, nothing about customers' };

/** The customer's id and the anonymous ids linked to it: their calls are the customer's too. */
async function customerIds(tx: Transaction, customerId: string): Promise<string[]> {
  const linked = await tx.execute<{ anonymous_id: string }>(sql`SELECT anonymous_id FROM ingestion.identity_links WHERE user_id = ${customerId}`);
  return [customerId, ...linked.rows.map((r) => r.anonymous_id)];
}

/** Erases or gathers the customer's rows in `tx`; the confirmation to publish. */
export async function actOnPrivacyRequest(tx: Transaction, prefix: string, request: PrivacyRequested): Promise<PrivacyCompleted> {
  const ids = await customerIds(tx, request.customerId);
  return privacyConfirmation(request, 'ingestion', await applyPrivacyTables(tx, 'ingestion', privacyTables(prefix), ids, request.payload.kind));
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
    groupId: 'lifecycle-ingestion-privacy',
    topic: 'privacyRequests',
    handle: privacyRequestHandler(runtime, (tx, request) => actOnPrivacyRequest(tx, runtime.prefix, request), (tx, done) => outbox.enqueue(tx, 'privacyResponses', [done])),
  });
}
