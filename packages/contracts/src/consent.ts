import { z } from 'zod';
import { envelope } from './envelope.ts';

/**
 * A customer's marketing-email consent as its one owner (messaging) sees it:
 * - `subscribed`: marketing mail may go;
 * - `unsubscribed`: the customer opted out (a link, a one-click POST, `Email Unsubscribed`, the
 *   provider's unsubscribe); a later re-subscription lifts it;
 * - `bounced`: the address hard-bounced; stays until an operator lifts it;
 * - `complained`: the customer reported a message as spam; stays until an operator lifts it.
 * Values are only ever added.
 */
export const ConsentState = z.enum(['subscribed', 'unsubscribed', 'bounced', 'complained']);
export type ConsentState = z.infer<typeof ConsentState>;

/** What made the change. Values are only ever added. */
export const ConsentSource = z.enum(['unsubscribe-link', 'email-subscribed-event', 'email-unsubscribed-event', 'sendgrid-webhook', 'operator']);
export type ConsentSource = z.infer<typeof ConsentSource>;

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
  }),
);
export type ConsentChanged = z.infer<typeof ConsentChanged>;
