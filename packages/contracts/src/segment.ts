import { z } from 'zod';
import { Money } from './money.ts';

/**
 * Segment Spec calls as they arrive on `commerce.events`.
 * https://segment.com/docs/connections/spec/common/ — only the fields Lifecycle reads are
 * declared; everything else a client sends is kept (loose objects) so nothing is lost.
 */

const isoTimestamp = z.iso.datetime({ offset: true, local: false });

export const Traits = z.looseObject({
  email: z.string().trim().toLowerCase().pipe(z.email()).optional(),
  name: z.string().optional(),
  first_name: z.string().optional(),
  firstName: z.string().optional(),
  last_name: z.string().optional(),
  lastName: z.string().optional(),
  timezone: z.string().optional(),
  locale: z.string().optional(),
});
export type Traits = z.infer<typeof Traits>;

export const Context = z.looseObject({
  traits: Traits.optional(),
  timezone: z.string().optional(),
  locale: z.string().optional(),
});

/**
 * What ingestion derived from a call, beside the call as the client sent it. Optional, so calls
 * published before it existed still parse; a client-sent value is replaced by ingestion.
 */
export const Normalized = z.object({
  /** The offset the client's timestamp carried (`+09:00`, `Z`); `timestamp` itself is UTC. */
  timestampOffset: z.string(),
  /** The client's own `timestamp` (UTC); `timestamp` is that corrected for the client's clock skew (`sentAt` against `receivedAt`). */
  originalTimestamp: isoTimestamp.optional(),
  /** When ingestion received the call, by the server's clock (UTC). */
  receivedAt: isoTimestamp.optional(),
  /** Money in integer minor units (cents, yen), by property path (`total`, `products.0.price`). */
  money: z.object({ currency: z.string().length(3), amounts: z.record(z.string(), z.number().int()) }).optional(),
  /**
   * For `Order Completed`, `Order Refunded` and `Order Cancelled`: the amount by the order-value
   * rule (`total`, else `revenue`; see order-value.ts) in minor units with its currency. What
   * every service counts an order (or a refund) as.
   */
  orderValue: Money.optional(),
  /** Checked traits: `birthday` as `YYYY-MM-DD`, `timezone` an IANA zone, `locale` a BCP 47 tag. */
  traits: z.object({ birthday: z.string().optional(), timezone: z.string().optional(), locale: z.string().optional() }).optional(),
  /** Set when this call linked an anonymous id to a user id, so downstream can merge the two. */
  linked: z.object({ anonymousId: z.string(), userId: z.string() }).optional(),
  /** Set when the customer id came from an earlier link of this call's anonymous id. */
  linkedCustomerId: z.string().optional(),
});
export type Normalized = z.infer<typeof Normalized>;

const common = {
  messageId: z.string().min(1).max(200),
  timestamp: isoTimestamp,
  userId: z.string().min(1).max(200).optional(),
  anonymousId: z.string().min(1).max(200).optional(),
  context: Context.optional(),
  normalized: Normalized.optional(),
};

const hasIdentity = (call: { userId?: string | undefined; anonymousId?: string | undefined }): boolean =>
  call.userId !== undefined || call.anonymousId !== undefined;
const identityError = { message: 'either userId or anonymousId is required', path: ['userId'] };

export const TrackCall = z
  .looseObject({
    ...common,
    type: z.literal('track'),
    event: z.string().min(1).max(200),
    properties: z.record(z.string(), z.unknown()).default({}),
  })
  .refine(hasIdentity, identityError);
export type TrackCall = z.infer<typeof TrackCall>;

export const IdentifyCall = z
  .looseObject({
    ...common,
    type: z.literal('identify'),
    traits: Traits.default({}),
  })
  .refine(hasIdentity, identityError);
export type IdentifyCall = z.infer<typeof IdentifyCall>;

/** `alias`: `previousId` (an anonymous or older user id) is the same person as `userId`. */
export const AliasCall = z.looseObject({
  ...common,
  type: z.literal('alias'),
  userId: z.string().min(1).max(200),
  previousId: z.string().min(1).max(200),
});
export type AliasCall = z.infer<typeof AliasCall>;

/** `page` (web) and `screen` (apps): a view, an awareness signal. */
export const PageCall = z
  .looseObject({
    ...common,
    type: z.literal('page'),
    name: z.string().max(200).optional(),
    category: z.string().max(200).optional(),
    properties: z.record(z.string(), z.unknown()).default({}),
  })
  .refine(hasIdentity, identityError);
export type PageCall = z.infer<typeof PageCall>;

export const ScreenCall = z
  .looseObject({
    ...common,
    type: z.literal('screen'),
    name: z.string().max(200).optional(),
    category: z.string().max(200).optional(),
    properties: z.record(z.string(), z.unknown()).default({}),
  })
  .refine(hasIdentity, identityError);
export type ScreenCall = z.infer<typeof ScreenCall>;

export const SegmentCall = z.discriminatedUnion('type', [TrackCall, IdentifyCall, AliasCall, PageCall, ScreenCall]);
export type SegmentCall = z.infer<typeof SegmentCall>;

/** A product line as the E-commerce Spec describes it. */
export const Product = z.looseObject({
  product_id: z.string().optional(),
  sku: z.string().optional(),
  name: z.string().optional(),
  price: z.number().nonnegative().optional(),
  quantity: z.number().int().positive().default(1),
  url: z.string().optional(),
  image_url: z.string().optional(),
});
export type Product = z.infer<typeof Product>;

export const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'expected an ISO 4217 code such as USD')
  .transform((c) => c.toUpperCase());

export const OrderCompletedProperties = z.looseObject({
  order_id: z.string().min(1),
  checkout_id: z.string().optional(),
  total: z.number().nonnegative(),
  revenue: z.number().optional(),
  currency: currency.default('USD'),
  products: z.array(Product).default([]),
});
export type OrderCompletedProperties = z.infer<typeof OrderCompletedProperties>;

/** The customer a call belongs to: the user id, or the anonymous id before sign-up. */
export function customerIdOf(call: SegmentCall): string {
  // The schema refuses calls with neither, so one of them is present.
  return call.userId ?? call.anonymousId ?? '';
}

/** The traits a call carries: identify's own, or a track call's `context.traits`. */
export function traitsOf(call: SegmentCall): Traits {
  const own = call.type === 'identify' ? call.traits : {};
  return { ...(call.context?.traits ?? {}), ...own };
}
