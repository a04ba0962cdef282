import { outboxTable } from '@lifecycle/kit';
import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const scheduler = pgSchema('scheduler');

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Messages planned for later: the durable schedule. */
export const jobs = scheduler.table(
  'jobs',
  {
    dedupeKey: text('dedupe_key').primaryKey(),
    campaignId: text('campaign_id').notNull(),
    customerId: text('customer_id').notNull(),
    triggerEventId: text('trigger_event_id').notNull(),
    dueAt: ts('due_at').notNull(),
    /** pending → sent | skipped | cancelled | held_out (a control group's: not sent, measured); sent → suppressed | failed when messaging did not send it */
    status: text('status').notNull().default('pending'),
    skipReason: text('skip_reason'),
    triggerData: jsonb('trigger_data').$type<Record<string, unknown>>().notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    firedAt: ts('fired_at'),
    /** When the trigger happened: conditions compare with it, re-entry counts from it. */
    triggerAt: ts('trigger_at').notNull().defaultNow(),
    /** The trigger event's properties, for exits matched on one (`checkout_id`). */
    triggerProps: jsonb('trigger_props').$type<Record<string, unknown>>().notNull().default({}),
    category: text('category').$type<'transactional' | 'marketing'>().notNull().default('transactional'),
    variant: text('variant'),
    /** What the reason means in this case (`Order Completed since the trigger`). */
    skipDetail: text('skip_detail'),
    /** How often the send window moved the job to a later time. */
    deferrals: integer('deferrals').notNull().default(0),
  },
  (t) => [
    // The order due jobs fire in: by due time, then the older trigger first, so of two jobs due at
    // one instant for one customer the frequency cap always lets the same one through.
    index('jobs_pending_due_idx').on(t.dueAt, t.triggerAt, t.campaignId, t.dedupeKey).where(sql`status = 'pending'`),
    index('jobs_customer_pending_idx').on(t.customerId).where(sql`status = 'pending'`),
    index('jobs_customer_campaign_idx').on(t.customerId, t.campaignId, t.triggerAt),
    // Campaign stats group one campaign's jobs by status.
    index('jobs_campaign_status_idx').on(t.campaignId, t.status),
    index('jobs_marketing_sent_idx').on(t.customerId, t.firedAt).where(sql`status = 'sent' AND category = 'marketing'`),
  ],
);

/** The latest contact details seen for a customer, by event time. */
export const contacts = scheduler.table('contacts', {
  customerId: text('customer_id').primaryKey(),
  email: text('email'),
  firstName: text('first_name'),
  name: text('name'),
  locale: text('locale'),
  timeZone: text('time_zone'),
  asOf: ts('as_of').notNull(),
  stage: text('stage'),
  /** Marketing email not allowed, as consent's owner (messaging) last said on `consent.changes`. */
  unsubscribed: boolean('unsubscribed').notNull().default(false),
  subscriptionAsOf: ts('subscription_as_of'),
  /** The owner's latest consent state and its sequence: older records are ignored. */
  consentState: text('consent_state'),
  consentSequence: integer('consent_sequence').notNull().default(0),
  /** The preference center's choices, from the owner's latest record: topics left, and `any` | `weekly` | `monthly`. */
  topicsOptedOut: jsonb('topics_opted_out').$type<string[]>().notNull().default([]),
  frequency: text('frequency').notNull().default('any'),
  /** The latest open or click of any message (`messages.events`): the sunset's measure of activity. */
  lastEngagedAt: ts('last_engaged_at'),
  /** When the latest re-permission mail was sent. */
  rePermissionSentAt: ts('re_permission_sent_at'),
  /** Marketing stops from this instant (the re-permission send plus the grace) unless an open, click or new subscription comes first. */
  sunsetAt: ts('sunset_at'),
  /** `YYYY-MM-DD` or `--MM-DD`. */
  birthday: text('birthday'),
  firstOrderDate: text('first_order_date'),
  signupDate: text('signup_date'),
  /** Before the order ledger: spend in major units of `currency`, carried into the ledger once (see contactFromRow). */
  lifetimeSpend: doublePrecision('lifetime_spend').notNull().default(0),
  currency: text('currency'),
  /** Orders, refunds and cancellations (the shared order-value ledger); null on rows from before it. */
  orderLedger: jsonb('order_ledger').$type<Record<string, unknown>>(),
  lastOrder: jsonb('last_order').$type<Record<string, unknown>>(),
  /** When each trait was last set, by trait name (ISO times). */
  traitsAsOf: jsonb('traits_as_of').$type<Record<string, string>>().notNull().default({}),
}, (t) => [
  // `GET /contacts?email=`: an operator's lookup by address, whatever its case.
  index('contacts_email_idx').on(sql`lower(${t.email})`),
]);

/** When each customer last did each event, for conditions like "still no second order". */
export const customerEvents = scheduler.table(
  'customer_events',
  {
    customerId: text('customer_id').notNull(),
    event: text('event').notNull(),
    lastAt: ts('last_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.event] })],
);

/** A goal event attributed to the campaign message sent before it. */
export const conversions = scheduler.table(
  'conversions',
  {
    campaignId: text('campaign_id').notNull(),
    goalEventId: text('goal_event_id').notNull(),
    customerId: text('customer_id').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    variant: text('variant'),
    /** Before minor units: major units. Kept for old rows; new rows write `revenue_minor`. */
    revenue: doublePrecision('revenue'),
    /** The order's value net of refunds, in minor units of `currency`. */
    revenueMinor: bigint('revenue_minor', { mode: 'number' }),
    currency: text('currency'),
    convertedAt: ts('converted_at').notNull(),
    /**
     * `mailed`: attributed to a sent message; `held_out`: to a job held out in the campaign's
     * holdout; `global_control`: to a job of a customer in the programme's control group.
     */
    group: text('group').$type<'mailed' | 'held_out' | 'global_control'>().notNull().default('mailed'),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.goalEventId] })],
);

/** Records consumed, so a redelivery changes nothing; kept for SCHEDULER_PROCESSED_RETENTION_DAYS. */
export const processedEvents = scheduler.table(
  'processed_events',
  {
    eventId: text('event_id').primaryKey(),
    processedAt: ts('processed_at').notNull().defaultNow(),
  },
  (t) => [index('processed_events_processed_at_idx').on(t.processedAt)],
);

/** Generic timers other services asked for (the classifier's silence checks). */
export const timers = scheduler.table(
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

/**
 * Each campaign set the start-up reconciliation brought the schedule in line with (disabled
 * campaigns' jobs cancelled, date campaigns planned for every known contact); the latest row is the
 * set in force, so a restart with the same files skips the pass.
 */
export const reconciliations = scheduler.table('reconciliations', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  /** SHA-256 of the campaign definitions and settings, keys sorted. */
  fingerprint: text('fingerprint').notNull(),
  /** The enabled campaigns' ids, for people reading the table. */
  enabled: jsonb('enabled').$type<string[]>().notNull(),
  cancelled: integer('cancelled').notNull(),
  planned: integer('planned').notNull(),
  tookMs: integer('took_ms').notNull(),
  reconciledAt: ts('reconciled_at').notNull().defaultNow(),
});

/** Records committed with their decisions, waiting for the relay to publish them (the kit's transactional outbox). */
export const outbox = outboxTable(scheduler);

/** Products the scheduler learned from events and imports; `product_id` is the event's `product_id`, else its `sku`. */
export const catalogProducts = scheduler.table('catalog_products', {
  productId: text('product_id').primaryKey(),
  sku: text('sku'),
  name: text('name'),
  category: text('category'),
  url: text('url'),
  imageUrl: text('image_url'),
  /** Null: not known; out of stock when 0 or `in_stock` is false. */
  stock: integer('stock'),
  inStock: boolean('in_stock'),
  updatedAt: ts('updated_at').notNull(),
  /** Its sales, each weighted by recency as co-purchases are (sum of exp((t − epoch)/τ)): best sellers without reading every order line. */
  salesWeight: doublePrecision('sales_weight').notNull().default(0),
}, (t) => [index('catalog_products_category_sales_idx').on(t.category, t.salesWeight)]);

/** A product's price per currency, in minor units. */
export const catalogPrices = scheduler.table(
  'catalog_prices',
  {
    productId: text('product_id').notNull(),
    currency: text('currency').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.currency] })],
);

/** Every order line seen (`Order Completed` products): best sellers, reorder intervals, evaluation. */
export const catalogOrderLines = scheduler.table(
  'catalog_order_lines',
  {
    orderId: text('order_id').notNull(),
    productId: text('product_id').notNull(),
    customerId: text('customer_id').notNull(),
    orderedAt: ts('ordered_at').notNull(),
    quantity: integer('quantity').notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.productId] }), index('catalog_order_lines_customer_idx').on(t.customerId, t.productId, t.orderedAt), index('catalog_order_lines_product_idx').on(t.productId, t.orderedAt)],
);

/**
 * The gaps between a customer's consecutive orders of a product, kept as order lines arrive (an
 * order arriving late re-computes its customer's gaps of that product): replenishment intervals
 * are their median, read without a window over every order line.
 */
export const catalogReorderGaps = scheduler.table(
  'catalog_reorder_gaps',
  {
    productId: text('product_id').notNull(),
    customerId: text('customer_id').notNull(),
    /** The later order of the two. */
    orderedAt: ts('ordered_at').notNull(),
    gapDays: doublePrecision('gap_days').notNull(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.customerId, t.orderedAt] })],
);

/** A customer's latest view, add to cart or wishlisting of a product: back-in-stock and price-drop audiences. */
export const catalogInterests = scheduler.table(
  'catalog_interests',
  {
    customerId: text('customer_id').notNull(),
    productId: text('product_id').notNull(),
    /** viewed | carted | wishlisted */
    kind: text('kind').notNull(),
    lastAt: ts('last_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.productId, t.kind] }), index('catalog_interests_product_idx').on(t.productId, t.lastAt)],
);

/**
 * Customers who bought both products, in both directions. `weight` is the sum over them of
 * exp((t − 2020-01-01)/τ) (t: when they first had both, τ: half-life / ln 2): it decays alike for
 * every pair, so no row is ever re-decayed.
 */
export const catalogCoPurchases = scheduler.table(
  'catalog_co_purchases',
  {
    productId: text('product_id').notNull(),
    otherId: text('other_id').notNull(),
    weight: doublePrecision('weight').notNull(),
    support: integer('support').notNull(),
  },
  (t) => [primaryKey({ columns: [t.productId, t.otherId] })],
);
