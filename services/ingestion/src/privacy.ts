import { sql, type SQL } from 'drizzle-orm';
import { topics, type PrivacyCompleted, type PrivacyRequested } from '@lifecycle/contracts';
import { inTransaction, topicConsumerComponent, type ConsumerComponent, type Outbox, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what ingestion holds on a customer: the calls it has seen
 * (dedupe rows), the anonymous ids linked to them, and clean events still waiting in the outbox.
 * One transaction per request: the effect and the confirmation on `privacy.responses` commit together.
 */

/** How one table is treated: the customer's rows, and what an erase does to them (deleted). */
interface TableRule {
  table: string;
  rows: (ids: string[]) => SQL;
}

/** Every table of the `ingestion` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): TableRule[] => [
  { table: 'seen_messages', rows: (ids) => sql`customer_id = ANY(${sql.param(ids)}::text[])` },
  { table: 'identity_links', rows: (ids) => sql`user_id = ANY(${sql.param(ids)}::text[]) OR anonymous_id = ANY(${sql.param(ids)}::text[])` },
  // Clean events not yet on `lifecycle.events` carry the traits; relayed rows are deleted by the relay.
  // Privacy records themselves stay: a pending confirmation must still go out.
  { table: 'outbox', rows: (ids) => sql`key = ANY(${sql.param(ids)}::text[]) AND topic NOT IN (${prefix + topics.privacyRequests.name}, ${prefix + topics.privacyResponses.name})` },
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
  const summary: Record<string, number> = {};
  const data: Record<string, unknown> = {};
  for (const rule of privacyTables(prefix)) {
    const from = sql.raw(`ingestion.${rule.table}`);
    if (request.payload.kind === 'erase') {
      summary[`ingestion.${rule.table}`] = (await tx.execute(sql`DELETE FROM ${from} WHERE ${rule.rows(ids)}`)).rowCount ?? 0;
    } else {
      const found = await tx.execute<{ rows: unknown[] }>(sql`SELECT coalesce(json_agg(t), '[]'::json) AS rows FROM ${from} t WHERE ${rule.rows(ids)}`);
      const rows = found.rows[0]?.rows ?? [];
      summary[`ingestion.${rule.table}`] = rows.length;
      data[rule.table] = rows;
    }
  }
  return {
    id: `${request.payload.requestId}:ingestion`,
    type: 'privacy.completed',
    version: 1,
    occurredAt: request.occurredAt,
    customerId: request.customerId,
    causationId: request.id,
    payload: { requestId: request.payload.requestId, kind: request.payload.kind, service: 'ingestion', summary, ...(request.payload.kind === 'export' ? { data } : {}), kept: [] },
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
    groupId: 'lifecycle-ingestion-privacy',
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
