import { sql, type SQL } from 'drizzle-orm';
import { topics, type PrivacyCompleted, type PrivacyRequested } from '@lifecycle/contracts';
import { inTransaction, topicConsumerComponent, type ConsumerComponent, type Outbox, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what the scheduler holds on a customer: the contact (email,
 * names, traits, last order), jobs and their trigger data, conversions, the events it remembers,
 * timers asked for them, catalog interests and order lines, and records still waiting in the
 * outbox. One transaction per request: the effect and the confirmation on `privacy.responses`
 * commit together.
 */

interface TableRule {
  table: string;
  rows: (customerId: string) => SQL;
}

const byCustomer = (customerId: string): SQL => sql`customer_id = ${customerId}`;

/** Every table of the `scheduler` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): TableRule[] => [
  { table: 'contacts', rows: byCustomer },
  { table: 'jobs', rows: byCustomer },
  { table: 'conversions', rows: byCustomer },
  { table: 'customer_events', rows: byCustomer },
  { table: 'timers', rows: byCustomer },
  { table: 'catalog_order_lines', rows: byCustomer },
  { table: 'catalog_reorder_gaps', rows: byCustomer },
  { table: 'catalog_interests', rows: byCustomer },
  // Messages and timers not yet relayed (a message request carries the address and name); relayed
  // rows are deleted by the relay. Privacy records themselves stay: a pending confirmation must go out.
  { table: 'outbox', rows: (customerId) => sql`key = ${customerId} AND topic NOT IN (${prefix + topics.privacyRequests.name}, ${prefix + topics.privacyResponses.name})` },
];

/** Tables that hold nothing about a customer's person, and why they stay. */
export const keptTables: Record<string, string> = {
  processed_events: 'record ids only, so a redelivery stays skipped',
  reconciliations: 'campaign start-up reconciliations, about no customer',
  catalog_products: 'the store catalog',
  catalog_prices: 'the store catalog',
  catalog_co_purchases: 'counts of products bought together, with no customer',
  __drizzle_migrations: 'migrations applied',
};

/** Erases or gathers the customer's rows in `tx`; the confirmation to publish. */
export async function actOnPrivacyRequest(tx: Transaction, prefix: string, request: PrivacyRequested): Promise<PrivacyCompleted> {
  const erase = request.payload.kind === 'erase';
  const summary: Record<string, number> = {};
  const data: Record<string, unknown> = {};
  for (const rule of privacyTables(prefix)) {
    const from = sql.raw(`scheduler.${rule.table}`);
    if (erase) {
      summary[`scheduler.${rule.table}`] = (await tx.execute(sql`DELETE FROM ${from} WHERE ${rule.rows(request.customerId)}`)).rowCount ?? 0;
    } else {
      const found = await tx.execute<{ rows: unknown[] }>(sql`SELECT coalesce(json_agg(t), '[]'::json) AS rows FROM ${from} t WHERE ${rule.rows(request.customerId)}`);
      const rows = found.rows[0]?.rows ?? [];
      summary[`scheduler.${rule.table}`] = rows.length;
      data[rule.table] = rows;
    }
  }
  return {
    id: `${request.payload.requestId}:scheduler`,
    type: 'privacy.completed',
    version: 1,
    occurredAt: request.occurredAt,
    customerId: request.customerId,
    causationId: request.id,
    payload: { requestId: request.payload.requestId, kind: request.payload.kind, service: 'scheduler', summary, ...(erase ? {} : { data }), kept: [] },
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
    groupId: 'lifecycle-scheduler-privacy',
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
