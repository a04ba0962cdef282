import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { topics, type PrivacyCompleted, type PrivacyRequested } from '@lifecycle/contracts';
import { inTransaction, topicConsumerComponent, type ConsumerComponent, type Outbox, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what the classifier holds on a customer: the profile (with
 * email and first name), its stage history, anonymous ids merged into it, engagement held for it,
 * its RFM inputs and records still waiting in the outbox. One transaction per request: the effect
 * and the confirmation on `privacy.responses` commit together. An erase keeps only a SHA-256 of
 * the id with the erase time, so a replay or rebuild skips events from before it.
 */

interface TableRule {
  table: string;
  rows: (ids: string[]) => SQL;
}

const anyOf = (ids: string[]): SQL => sql`${sql.param(ids)}::text[]`;

/** Every table of the `classifier` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): TableRule[] => [
  { table: 'profiles', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  { table: 'stage_history', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  { table: 'aliases', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)}) OR anonymous_id = ANY(${anyOf(ids)})` },
  { table: 'held_message_events', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  { table: 'rfm_staging', rows: (ids) => sql`customer_id = ANY(${anyOf(ids)})` },
  // Stage changes and timer requests not yet relayed; relayed rows are deleted by the relay.
  // Privacy records themselves stay: a pending confirmation must still go out.
  { table: 'outbox', rows: (ids) => sql`key = ANY(${anyOf(ids)}) AND topic NOT IN (${prefix + topics.privacyRequests.name}, ${prefix + topics.privacyResponses.name})` },
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
  const summary: Record<string, number> = {};
  const data: Record<string, unknown> = {};
  for (const rule of privacyTables(prefix)) {
    const from = sql.raw(`classifier.${rule.table}`);
    if (erase) {
      summary[`classifier.${rule.table}`] = (await tx.execute(sql`DELETE FROM ${from} WHERE ${rule.rows(ids)}`)).rowCount ?? 0;
    } else {
      const found = await tx.execute<{ rows: unknown[] }>(sql`SELECT coalesce(json_agg(t), '[]'::json) AS rows FROM ${from} t WHERE ${rule.rows(ids)}`);
      const rows = found.rows[0]?.rows ?? [];
      summary[`classifier.${rule.table}`] = rows.length;
      data[rule.table] = rows;
    }
  }
  if (erase) {
    // The request's time, the same in every service: events that happened before it are the erased customer's.
    await tx.execute(sql`
      INSERT INTO classifier.erased_customers (customer_hash, erased_at) SELECT unnest(${anyOf(ids.map(customerHash))}), ${request.occurredAt}::timestamptz
      ON CONFLICT (customer_hash) DO UPDATE SET erased_at = greatest(classifier.erased_customers.erased_at, excluded.erased_at)`);
  }
  return {
    id: `${request.payload.requestId}:classifier`,
    type: 'privacy.completed',
    version: 1,
    occurredAt: request.occurredAt,
    customerId: request.customerId,
    causationId: request.id,
    payload: { requestId: request.payload.requestId, kind: request.payload.kind, service: 'classifier', summary, ...(erase ? {} : { data }), kept: erase ? kept : [] },
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
    groupId: 'lifecycle-classifier-privacy',
    topic: 'privacyRequests',
    handle: async (request) => {
      const confirmation = await inTransaction(runtime.pool, async (tx) => {
        const done = await actOnPrivacyRequest(tx, runtime.prefix, request);
        await outbox.enqueue(tx, 'privacyResponses', [done]);
        return done;
      });
      runtime.logger.info({ requestId: request.payload.requestId, customerId: request.customerId, kind: request.payload.kind, summary: confirmation.payload.summary }, 'privacy request done');
    },
  });
}
