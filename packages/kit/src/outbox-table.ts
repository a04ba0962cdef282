import { bigserial, text, timestamp, type PgSchema } from 'drizzle-orm/pg-core';

/**
 * The transactional outbox's table, `<schema>.outbox`, for a service's drizzle schema (its
 * migration creates it). Rows are records committed with the decision that made them and not yet
 * on Kafka; the relay (`createOutbox`) publishes them in id order and deletes them.
 */
export function outboxTable(schema: PgSchema) {
  return schema.table('outbox', {
    /** Assigned at insert: the publish order. */
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The full topic name, prefix included. */
    topic: text('topic').notNull(),
    /** The record key (the customer id), or null. */
    key: text('key'),
    /** The record value, JSON text exactly as it will be published. */
    value: text('value').notNull(),
    /** When the transaction enqueued it, by the service's clock: a backlog's age. */
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  });
}
