import { z } from 'zod';
import { envelope } from './envelope.ts';

/**
 * A customer's marketing-email consent as its one owner (messaging) sees it:
 * - `subscribed`: marketing mail may go;
 * - `unsubscribed`: the customer opted out (a link, a one-click POST, `Email Unsubscribed`, the
 *   provider's unsubscribe); a later re-subscription lifts it;
 * - `bounced`: the address hard-bounced; stays until an operator lifts it;
 * - `complained`: the customer reported a message as spam; stays until an operator lifts it;
 * - `unconfirmed`: the customer subscribed where the store asks for double opt-in and has not yet
 *   clicked the confirmation link: no marketing mail until they do.
 * Values are only ever added.
 */
export const ConsentState = z.enum(['subscribed', 'unsubscribed', 'bounced', 'complained', 'unconfirmed']);
export type ConsentState = z.infer<typeof ConsentState>;

/** What made the change. Values are only ever added. */
export const ConsentSource = z.enum(['unsubscribe-link', 'email-subscribed-event', 'email-unsubscribed-event', 'sendgrid-webhook', 'operator', 'preference-center', 'double-opt-in', 'privacy-erase']);
export type ConsentSource = z.infer<typeof ConsentSource>;

/** How often a customer wants marketing mail at most (the preference center's choice); `any` leaves it to the store's cap. */
export const MarketingFrequency = z.enum(['any', 'weekly', 'monthly']);
export type MarketingFrequency = z.infer<typeof MarketingFrequency>;

/** A customer's choices in the preference center: the topics they left, and how often they want mail. */
export const MarketingPreferences = z.object({
  /** Topic ids (from `campaigns/_consent.yaml`) the customer does not want; the rest still send. */
  topicsOptedOut: z.array(z.string().min(1)),
  frequency: MarketingFrequency,
  /** When the customer last saved them; null when they never did (the defaults). */
  at: z.iso.datetime({ offset: true }).nullable(),
});
export type MarketingPreferences = z.infer<typeof MarketingPreferences>;

/**
 * `consent.changes`: messaging's record of a customer's new consent, keyed by customer id. The
 * envelope id (`consent:<customerId>:<sequence>`) is what consumers deduplicate on; `sequence`
 * grows with every change of one customer, so a consumer keeps the record with the highest
 * sequence it has seen and ignores older ones, whatever order they arrive in.
 */
export const ConsentChanged = envelope(
  'consent.changed',
  z.object({
    state: ConsentState,
    /** Whether marketing mail may be sent; transactional mail is not affected by consent. */
    marketingAllowed: z.boolean(),
    /** When the customer (or the operator, for a lift) acted; `occurredAt` is when messaging recorded it. */
    consentAt: z.iso.datetime({ offset: true }),
    source: ConsentSource,
    /** Per customer, 1 for the first change and one more for each change after it. */
    sequence: z.number().int().positive(),
    /** The state this change replaced; null for the customer's first record. */
    previousState: ConsentState.nullable(),
    /**
     * The customer's topic and frequency choices as of this record. Every record messaging
     * publishes carries them (a change of preferences alone is a record with the same state);
     * absent only on records from before the preference center.
     */
    preferences: MarketingPreferences.optional(),
  }),
);
export type ConsentChanged = z.infer<typeof ConsentChanged>;

const TopicId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes');
const Localized = z.record(z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)*$/, 'a lower-case locale such as en or ja'), z.string().min(1)).refine((m) => m.en !== undefined, 'give at least the English (en) text');

/**
 * `campaigns/_consent.yaml`: the store's consent settings, read by messaging (the preference
 * page, double opt-in) and by the scheduler (a campaign's `topic` must be one of these).
 */
export const ConsentSettings = z.strictObject({
  /** What a customer can opt out of one by one in the preference center; a marketing campaign names one as its `topic`. */
  topics: z
    .array(z.strictObject({ id: TopicId, label: Localized, description: Localized.optional() }))
    .default([])
    .refine((ts) => new Set(ts.map((t) => t.id)).size === ts.length, 'topic ids must differ'),
  /**
   * Double opt-in: `Email Subscribed` from a customer in one of these countries (ISO 3166-1
   * alpha-2), or from anyone with `all: true`, sends a confirmation mail; marketing starts only
   * after its link is clicked. Off when absent.
   */
  doubleOptIn: z
    .strictObject({
      all: z.boolean().default(false),
      countries: z.array(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in capitals, such as DE')).default([]),
    })
    .prefault({}),
});
export type ConsentSettings = z.infer<typeof ConsentSettings>;
