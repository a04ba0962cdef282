import { outboxTable } from '@lifecycle/kit';
import { index, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const ingestion = pgSchema('ingestion');

/**
 * Every messageId accepted within the retention window, so a repeated call is dropped even after
 * a restart. The primary key is the dedupe; a periodic purge removes rows older than the window.
 */
export const seenMessages = ingestion.table(
  'seen_messages',
  {
    messageId: text('message_id').primaryKey(),
    customerId: text('customer_id').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('seen_messages_first_seen_at_idx').on(t.firstSeenAt)],
);

/** An anonymous id linked to the user id it turned out to be (identify with both ids, or alias). */
export const identityLinks = ingestion.table('identity_links', {
  anonymousId: text('anonymous_id').primaryKey(),
  userId: text('user_id').notNull(),
  /** The call that made the link. */
  messageId: text('message_id').notNull(),
  linkedAt: timestamp('linked_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Records committed with their decisions, waiting for the relay to publish them (the kit's transactional outbox). */
export const outbox = outboxTable(ingestion);
