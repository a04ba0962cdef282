import { sql } from 'drizzle-orm';
import { index, jsonb, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const scheduling = pgSchema('scheduling');

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Messages planned for later: the durable schedule. */
export const jobs = scheduling.table(
  'jobs',
  {
    dedupeKey: text('dedupe_key').primaryKey(),
    campaignId: text('campaign_id').notNull(),
    customerId: text('customer_id').notNull(),
    triggerEventId: text('trigger_event_id').notNull(),
    dueAt: ts('due_at').notNull(),
    /** pending → sent | skipped | cancelled */
    status: text('status').notNull().default('pending'),
    skipReason: text('skip_reason'),
    triggerData: jsonb('trigger_data').$type<Record<string, unknown>>().notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    firedAt: ts('fired_at'),
  },
  (t) => [index('jobs_pending_due_idx').on(t.dueAt).where(sql`status = 'pending'`)],
);

/** The latest contact details seen for a customer, by event time. */
export const contacts = scheduling.table('contacts', {
  customerId: text('customer_id').primaryKey(),
  email: text('email'),
  firstName: text('first_name'),
  name: text('name'),
  locale: text('locale'),
  timeZone: text('time_zone'),
  asOf: ts('as_of').notNull(),
});

export const processedEvents = scheduling.table('processed_events', {
  eventId: text('event_id').primaryKey(),
  processedAt: ts('processed_at').notNull().defaultNow(),
});

/** Generic timers other services asked for (the classifier's silence checks). */
export const timers = scheduling.table(
  'timers',
  {
    timerId: text('timer_id').primaryKey(),
    owner: text('owner').notNull(),
    customerId: text('customer_id').notNull(),
    fireAt: ts('fire_at').notNull(),
    /** pending → fired */
    status: text('status').notNull().default('pending'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    requestId: text('request_id').notNull(),
    firedAt: ts('fired_at'),
  },
  (t) => [index('timers_pending_fire_idx').on(t.fireAt).where(sql`status = 'pending'`)],
);
