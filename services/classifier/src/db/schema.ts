import { outboxTable } from '@lifecycle/kit';
import { bigserial, index, integer, jsonb, numeric, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const classifier = pgSchema('classifier');

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

// Stored with fillfactor 70 (migration 0009, not expressible here): room in each page for HOT updates.
export const profiles = classifier.table('profiles', {
  customerId: text('customer_id').primaryKey(),
  stage: text('stage'),
  email: text('email'),
  firstName: text('first_name'),
  firstSeenAt: ts('first_seen_at').notNull(),
  lastEventAt: ts('last_event_at').notNull(),
  intentSignals: integer('intent_signals').notNull().default(0),
  orderCount: integer('order_count').notNull().default(0),
  firstOrderAt: ts('first_order_at'),
  lastOrderAt: ts('last_order_at'),
  nextCheckAt: ts('next_check_at'),
  rfmRecency: integer('rfm_recency'),
  rfmFrequency: integer('rfm_frequency'),
  rfmMonetary: integer('rfm_monetary'),
  /** The currency `rfm_monetary` ranks the customer in (the base currency when converted). */
  rfmCurrency: text('rfm_currency'),
  rfmSegment: text('rfm_segment'),
  rfmAt: ts('rfm_at'),
  /** The whole domain profile; the columns above are copies for queries. */
  data: jsonb('data').notNull().default({}),
  updatedAt: ts('updated_at').notNull().defaultNow(),
}, (t) => [index('profiles_stage_idx').on(t.stage, t.customerId)]);

/** Ids of the lifecycle events already folded in, so a redelivery changes nothing. */
export const processedEvents = classifier.table('processed_events', {
  eventId: text('event_id').primaryKey(),
  processedAt: ts('processed_at').notNull().defaultNow(),
});

export const stageHistory = classifier.table('stage_history', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  customerId: text('customer_id').notNull(),
  fromStage: text('from_stage'),
  toStage: text('to_stage').notNull(),
  reason: text('reason').notNull(),
  eventId: text('event_id').notNull(),
  occurredAt: ts('occurred_at').notNull(),
  recordedAt: ts('recorded_at').notNull().defaultNow(),
}, (t) => [index('stage_history_customer_idx').on(t.customerId, t.id)]);

/** Recurring work the classifier runs on the scheduler's clock (the RFM recompute). */
export const recurring = classifier.table('recurring', {
  name: text('name').primaryKey(),
  nextAt: ts('next_at').notNull(),
});

/**
 * RFM recomputes, one row per fired `classifier:rfm` timer. The timer's consumer only adds the
 * row; the RFM worker (rfm-recompute.ts) works through it in short transactions of its own,
 * phase by phase, resuming at `cursor` (the last customer id done) on its next run.
 */
export const rfmRuns = classifier.table('rfm_runs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** The instant scored at: the fired timer's time. */
  at: ts('at').notNull(),
  /** due, gather, rank, apply, retry, clear, then done (or superseded by a newer due run). */
  phase: text('phase').notNull().default('due'),
  cursor: text('cursor'),
  /** Customers with an order gathered so far. */
  scored: integer('scored').notNull().default(0),
  /** Customers whose row was busy in a consumer's transaction during apply, scored in retry. */
  skipped: integer('skipped').notNull().default(0),
  /** The rank phase's quintile cut points: `{recency: [c2…c5], frequency: […], monetary: {EUR: […]}}`. */
  cuts: jsonb('cuts'),
});

/** The run in progress: each customer's ranking inputs, gathered a batch at a time. */
export const rfmStaging = classifier.table('rfm_staging', {
  customerId: text('customer_id').primaryKey(),
  lastOrderAt: ts('last_order_at').notNull(),
  orderCount: integer('order_count').notNull(),
  /** The currency monetary ranks in; null when nothing was spent. */
  currency: text('currency'),
  /** Revenue in `currency`, converted exactly. */
  value: numeric('value'),
});

/** Anonymous ids linked to a customer: their profile was merged in, later events follow it. */
export const aliases = classifier.table('aliases', {
  anonymousId: text('anonymous_id').primaryKey(),
  customerId: text('customer_id').notNull(),
  linkedAt: ts('linked_at').notNull(),
});

/**
 * Message events (opens, clicks) and consent records for customers without a profile yet: during
 * a rebuild `messages.events` and `consent.changes` can be replayed before the customer's own events. They are folded
 * in when the profile is created, so engagement is never lost to the order of replay.
 */
export const heldMessageEvents = classifier.table('held_message_events', {
  eventId: text('event_id').primaryKey(),
  customerId: text('customer_id').notNull(),
  event: jsonb('event').notNull(),
  heldAt: ts('held_at').notNull().defaultNow(),
}, (t) => [index('held_message_events_customer_idx').on(t.customerId)]);

/** Records committed with their decisions, waiting for the relay to publish them (the kit's transactional outbox). */
export const outbox = outboxTable(classifier);

/**
 * Customers erased on request, as SHA-256 of the customer id only, with when: events about them
 * from before the erase are skipped (a replay, a rebuild, a late record), so only what happens
 * after it builds a new profile. A rebuild keeps this table (see rebuild.ts).
 */
export const erasedCustomers = classifier.table('erased_customers', {
  customerHash: text('customer_hash').primaryKey(),
  erasedAt: ts('erased_at').notNull(),
});
