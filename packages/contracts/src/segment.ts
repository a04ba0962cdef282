import { z } from 'zod';

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

const common = {
  messageId: z.string().min(1).max(200),
  timestamp: isoTimestamp,
  userId: z.string().min(1).max(200).optional(),
  anonymousId: z.string().min(1).max(200).optional(),
  context: Context.optional(),
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

export const SegmentCall = z.discriminatedUnion('type', [TrackCall, IdentifyCall]);
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

const currency = z
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

const ProductProperties = z.looseObject({
  product_id: z.string().optional(),
  sku: z.string().optional(),
  name: z.string().optional(),
  price: z.number().nonnegative().optional(),
});

/**
 * Property schemas of the E-commerce Spec events Lifecycle knows. A known name with a wrong
 * shape is rejected; an unknown name passes through as a custom event.
 */
export const knownEventProperties = {
  'Product Viewed': ProductProperties,
  'Product Added': ProductProperties,
  'Checkout Started': z.looseObject({ checkout_id: z.string().optional(), order_id: z.string().optional() }),
  'Order Completed': OrderCompletedProperties,
} as const;
export type KnownEventName = keyof typeof knownEventProperties;

export function isKnownEvent(name: string): name is KnownEventName {
  return Object.hasOwn(knownEventProperties, name);
}

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
