import { sql } from 'drizzle-orm';
import { outboxTable } from '@lifecycle/kit';
import { bigint, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { sendStatuses } from '../domain/send-policy.ts';
import { suppressionReasons, suppressionSources } from '../domain/suppression.ts';

export const messaging = pgSchema('messaging');

export const sendStatus = messaging.enum('send_status', sendStatuses);

/**
 * One row per dedupe key: the claim that makes a message go out at most once. The row is
 * committed as `claimed` first, then as `sending` just before the provider is called, so a crash
 * or a lost database leaves evidence of exactly what may have gone out (see send-policy.ts).
 */
export const sends = messaging.table(
  'sends',
  {
    dedupeKey: text('dedupe_key').primaryKey(),
    status: sendStatus('status').notNull(),
    /** Envelope id of the `messages.requested` record that claimed the key. */
    messageId: text('message_id').notNull(),
    customerId: text('customer_id').notNull(),
    campaignId: text('campaign_id').notNull(),
    templateId: text('template_id').notNull(),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    /**
     * Names the attempt holding the key; a new one each time the key is claimed or taken over,
     * so an attempt that lost its claim cannot move the row. Null on rows from before it existed.
     */
    claimToken: text('claim_token'),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    /**
     * When the outcome's `messages.events` record was written to the outbox, in the transaction
     * that recorded the outcome; null while the send is open. A final row without it dates from
     * before the outbox and is reported at start-up (see `legacy-records.ts`).
     */
    reportedAt: timestamp('reported_at', { withTimezone: true }),
    /**
     * The `messages.requested` record that claimed the key, kept while the send is open or
     * `doubtful` (cleared with any other outcome): what an operator's release publishes again.
     */
    request: jsonb('request'),
    /** When an operator last released the key from `doubtful` for one more try; null if never. */
    releasedAt: timestamp('released_at', { withTimezone: true }),
    /** The first open and click SendGrid reported for the message (its timestamps); null until one is known. */
    openedAt: timestamp('opened_at', { withTimezone: true }),
    clickedAt: timestamp('clicked_at', { withTimezone: true }),
  },
  (t) => [
    index('sends_customer_id_idx').on(t.customerId),
    index('sends_doubtful_idx').on(t.updatedAt).where(sql`status = 'doubtful'`),
    // Open sends only, once start-up has reported what was left from before the outbox.
    index('sends_unreported_idx').on(t.updatedAt).where(sql`reported_at IS NULL`),
  ],
);
export type SendRow = typeof sends.$inferSelect;

export const suppressionReason = messaging.enum('suppression_reason', suppressionReasons);
export const suppressionSource = messaging.enum('suppression_source', suppressionSources);

/**
 * Addresses that get no marketing mail, for what cannot be tied to a customer (a link or provider
 * event for an address no message of ours went to) and rows from before consent was kept per
 * customer. One row per lower-cased address: the first reason wins.
 */
export const suppressions = messaging.table('suppressions', {
  email: text('email').primaryKey(),
  reason: suppressionReason('reason').notNull(),
  source: suppressionSource('source').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});
export type SuppressionRow = typeof suppressions.$inferSelect;

/**
 * A random id per lower-cased address: what unsubscribe (and preference) links carry instead of
 * the address. Kept for good, so links in old mail keep working; the id alone grants nothing
 * without the MAC made with the secret.
 */
export const addressIds = messaging.table('address_ids', {
  email: text('email').primaryKey(),
  id: text('id').notNull().unique('address_ids_id_unique'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
});

/**
 * Each customer's marketing consent: messaging is its one owner. The customer's own choice and a
 * provider's block are kept apart, each with the time it was decided (see domain/consent.ts);
 * `state` and `sequence` are those of the last record published on `consent.changes`.
 */
export const consent = messaging.table(
  'consent',
  {
    customerId: text('customer_id').primaryKey(),
    /** The address the latest input concerned, so an operator can name it. */
    email: text('email'),
    preference: text('preference'),
    preferenceAt: timestamp('preference_at', { withTimezone: true }),
    block: text('block'),
    blockAt: timestamp('block_at', { withTimezone: true }),
    state: text('state'),
    sequence: integer('sequence').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    /** Topic ids the customer left in the preference center (`campaigns/_consent.yaml`). */
    topicsOptedOut: jsonb('topics_opted_out').$type<string[]>().notNull().default([]),
    /** `any` | `weekly` | `monthly`: how often the customer wants marketing mail at most. */
    frequency: text('frequency').notNull().default('any'),
    /** When the customer last saved their preferences; null if never. */
    preferencesAt: timestamp('preferences_at', { withTimezone: true }),
    /**
     * Double opt-in: `pending` from the `Email Subscribed` that asked for a confirmation until its
     * link is clicked, then `confirmed`; null where the store does not ask for one.
     */
    optIn: text('opt_in'),
    /**
     * The proof of consent: when and from where the customer subscribed and confirmed
     * (`{ subscribedAt, source, ip?, userAgent?, confirmationSentAt?, confirmedAt?, confirmIp?, confirmUserAgent? }`).
     */
    optInProof: jsonb('opt_in_proof').$type<Record<string, unknown>>(),
  },
  (t) => [index('consent_email_idx').on(t.email)],
);
export type ConsentRow = typeof consent.$inferSelect;

/**
 * Every change of a customer's consent state, as published on `consent.changes` (one row per
 * record, written in the transaction that decided it): what `GET /customers/:id/consent` shows.
 * Changes from before this table have no row.
 */
export const consentHistory = messaging.table(
  'consent_history',
  {
    customerId: text('customer_id').notNull(),
    sequence: integer('sequence').notNull(),
    state: text('state').notNull(),
    previousState: text('previous_state'),
    source: text('source').notNull(),
    /** When the customer (or the provider) decided it. */
    consentAt: timestamp('consent_at', { withTimezone: true }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.sequence] })],
);

/**
 * Consent's own outbox from before messaging used the kit's: nothing writes it any more. Start-up
 * moves the records it left unpublished into `outbox` and empties it (see `legacy-records.ts`);
 * a later migration drops it.
 */
export const consentOutbox = messaging.table(
  'consent_outbox',
  {
    id: text('id').primaryKey(),
    customerId: text('customer_id').notNull(),
    record: jsonb('record').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
  },
  (t) => [index('consent_outbox_unpublished_idx').on(t.createdAt).where(sql`published_at IS NULL`)],
);

/**
 * Records committed with the state change that made them (a consent change, a send's outcome, a
 * settled send, a released send), waiting for the relay to publish them (the kit's transactional
 * outbox).
 */
export const outbox = outboxTable(messaging);

/**
 * Which customers an address belongs to, learnt from marketing mail sent to it and from
 * `Email Subscribed`/`Unsubscribed` events: how a link or provider event that names only an
 * address reaches the customer's consent.
 */
export const recipients = messaging.table(
  'recipients',
  {
    email: text('email').notNull(),
    customerId: text('customer_id').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.email, t.customerId] })],
);

/**
 * Coupon codes, one row per code: imported ones wait with `dedupe_key` null until a message takes
 * them; generated ones are inserted when a message takes them. A message's key holds at most one
 * code (unique), so a redelivered request gets the same code again. Redemption comes from
 * `lifecycle.events` (`Order Completed` with `coupon`, `Coupon Applied`).
 */
export const coupons = messaging.table(
  'coupons',
  {
    /** Upper-case, as it is matched. */
    code: text('code').primaryKey(),
    pool: text('pool').notNull(),
    /** The message the code went out with; null while an imported code is available. */
    dedupeKey: text('dedupe_key').unique('coupons_dedupe_key_unique'),
    customerId: text('customer_id'),
    campaignId: text('campaign_id'),
    variant: text('variant'),
    issuedAt: timestamp('issued_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** When `coupons:import` loaded it; null for generated codes. */
    importedAt: timestamp('imported_at', { withTimezone: true }),
    /** The first order (or application) of the code, and that order. */
    redeemedAt: timestamp('redeemed_at', { withTimezone: true }),
    redeemedOrderId: text('redeemed_order_id'),
    /** Orders the code was used on. */
    redemptions: integer('redemptions').notNull().default(0),
    /** The first order's value in minor units of `revenue_currency`. */
    revenueMinor: bigint('revenue_minor', { mode: 'number' }),
    revenueCurrency: text('revenue_currency'),
  },
  (t) => [
    // The next available imported code of a pool, oldest import first.
    index('coupons_available_idx').on(t.pool, t.importedAt, t.code).where(sql`dedupe_key IS NULL`),
    index('coupons_campaign_idx').on(t.campaignId, t.variant),
  ],
);
export type CouponRow = typeof coupons.$inferSelect;

/** Every order a code was used on: a redelivered order event counts once. */
export const couponRedemptions = messaging.table(
  'coupon_redemptions',
  {
    code: text('code').notNull(),
    orderId: text('order_id').notNull(),
    redeemedAt: timestamp('redeemed_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.code, t.orderId] })],
);

/**
 * Privacy requests (erase, export) messaging coordinates: the request is published on
 * `privacy.requests`, every service acts on it and confirms on `privacy.responses`, and each
 * confirmation is kept here until all services have answered.
 */
export const privacyRequests = messaging.table(
  'privacy_requests',
  {
    requestId: text('request_id').primaryKey(),
    kind: text('kind').$type<'erase' | 'export'>().notNull(),
    customerId: text('customer_id').notNull(),
    /** Who asked (the operator's name or `cli`), for the record. */
    requestedBy: text('requested_by').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    /** Per service: `{ confirmedAt, summary }`, as each confirmed. */
    confirmations: jsonb('confirmations').$type<Record<string, unknown>>().notNull().default({}),
    /** An export's gathered data, per service; emptied by a later erase of the same customer. */
    exported: jsonb('exported').$type<Record<string, unknown>>(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [index('privacy_requests_customer_idx').on(t.customerId)],
);

/**
 * Addresses of erased customers, as SHA-256 of the lower-cased address only: what the law lets
 * us keep so that an erased address is never mailed marketing by mistake (a job or event in
 * flight, a replay), until the customer subscribes again after the erase.
 */
export const erasedAddresses = messaging.table('erased_addresses', {
  emailHash: text('email_hash').primaryKey(),
  erasedAt: timestamp('erased_at', { withTimezone: true }).notNull(),
});
