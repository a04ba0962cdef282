import { sql, type SQL } from 'drizzle-orm';
import type { PrivacyCompleted, PrivacyRequested } from '@lifecycle/contracts';
import { applyPrivacyTables, notPrivacyRecords, privacyConfirmation, privacyRequestHandler, topicConsumerComponent, type ConsumerComponent, type Outbox, type PrivacyTableRule, type Runtime, type Transaction } from '@lifecycle/kit';

/**
 * Privacy requests (erase, export) for what the scheduler holds on a customer: the contact (email,
 * names, traits, last order), jobs and their trigger data, conversions, the events it remembers,
 * timers asked for them, catalog interests and order lines, and records still waiting in the
 * outbox. One transaction per request: the effect and the confirmation on `privacy.responses`
 * commit together.
 */

const byCustomer = (customerId: string): SQL => sql`customer_id = ${customerId}`;

/** Every table of the `scheduler` schema is either here or in `keptTables` (a test checks it). */
export const privacyTables = (prefix: string): PrivacyTableRule<string>[] => [
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
  { table: 'outbox', rows: (customerId) => sql`key = ${customerId} AND ${notPrivacyRecords(prefix)}` },
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
  return privacyConfirmation(request, 'scheduler', await applyPrivacyTables(tx, 'scheduler', privacyTables(prefix), request.customerId, request.payload.kind));
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
    handle: privacyRequestHandler(runtime, (tx, request) => actOnPrivacyRequest(tx, runtime.prefix, request), (tx, done) => outbox.enqueue(tx, 'privacyResponses', [done])),
  });
}
