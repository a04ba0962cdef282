import { pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const ingestion = pgSchema('ingestion');

/** Every messageId accepted, so a repeated call is dropped even after a restart. */
export const seenMessages = ingestion.table('seen_messages', {
  messageId: text('message_id').primaryKey(),
  customerId: text('customer_id').notNull(),
  firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
});
