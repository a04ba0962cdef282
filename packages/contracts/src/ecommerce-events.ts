import { z } from 'zod';
import { currency, OrderCompletedProperties, Product } from './segment.ts';

/**
 * Property schemas of the events Lifecycle knows: the E-commerce Spec v2
 * (https://segment.com/docs/connections/spec/ecommerce/v2/) plus the lifecycle events the spec
 * lacks. A known name with a wrong shape is rejected; an unknown name passes through as a custom
 * event. Objects are loose: properties a store adds beyond the spec are kept.
 */

const money = z.number().nonnegative();
const id = z.string().min(1).max(200);

const productFields = {
  product_id: id.optional(),
  sku: z.string().optional(),
  category: z.string().optional(),
  name: z.string().optional(),
  brand: z.string().optional(),
  variant: z.string().optional(),
  price: money.optional(),
  quantity: z.number().int().positive().optional(),
  coupon: z.string().optional(),
  position: z.number().int().nonnegative().optional(),
  url: z.string().optional(),
  image_url: z.string().optional(),
};
const ProductEvent = z.looseObject({ ...productFields, currency: currency.optional(), cart_id: z.string().optional() });

const orderFields = {
  order_id: id,
  checkout_id: z.string().optional(),
  affiliation: z.string().optional(),
  subtotal: money.optional(),
  total: money.optional(),
  revenue: money.optional(),
  shipping: money.optional(),
  tax: money.optional(),
  discount: money.optional(),
  coupon: z.string().optional(),
  currency: currency.optional(),
  products: z.array(Product).optional(),
};

export const NpsSurveyAnsweredProperties = z.looseObject({
  score: z.number().int().min(0, 'an NPS score is 0 to 10').max(10, 'an NPS score is 0 to 10'),
  survey_id: z.string().optional(),
  comment: z.string().optional(),
});

export const knownEventProperties = {
  'Products Searched': z.looseObject({ query: z.string() }),
  'Product List Viewed': z.looseObject({ list_id: z.string().optional(), category: z.string().optional(), products: z.array(Product).optional() }),
  'Product Viewed': ProductEvent,
  'Product Added': ProductEvent,
  'Product Removed': ProductEvent,
  'Cart Viewed': z.looseObject({ cart_id: z.string().optional(), currency: currency.optional(), products: z.array(Product).optional() }),
  'Checkout Started': z.looseObject({ ...orderFields, order_id: id.optional(), value: money.optional() }),
  'Order Completed': OrderCompletedProperties.extend({
    affiliation: z.string().optional(),
    subtotal: money.optional(),
    revenue: money.optional(),
    shipping: money.optional(),
    tax: money.optional(),
    discount: money.optional(),
    coupon: z.string().optional(),
  }),
  'Order Updated': z.looseObject(orderFields),
  'Order Refunded': z.looseObject(orderFields),
  'Order Cancelled': z.looseObject(orderFields),
  'Product Added to Wishlist': z.looseObject({ ...productFields, wishlist_id: z.string().optional(), wishlist_name: z.string().optional() }),
  'Product Shared': z.looseObject({ ...productFields, share_via: z.string().optional(), share_message: z.string().optional(), recipient: z.string().optional() }),
  'Product Reviewed': z.looseObject({
    product_id: id,
    review_id: z.string().optional(),
    review_body: z.string().optional(),
    rating: z.number().min(0).max(5).optional(),
  }),
  'Coupon Applied': z.looseObject({
    order_id: z.string().optional(),
    cart_id: z.string().optional(),
    coupon_id: z.string().optional(),
    coupon_name: z.string().optional(),
    discount: money.optional(),
    currency: currency.optional(),
  }),
  // Lifecycle events the E-commerce Spec lacks.
  'Order Shipped': z.looseObject({
    order_id: id,
    carrier: z.string().optional(),
    tracking_number: z.string().optional(),
    tracking_url: z.string().optional(),
    products: z.array(Product).optional(),
  }),
  'Order Delivered': z.looseObject({ order_id: id, carrier: z.string().optional(), tracking_number: z.string().optional() }),
  'NPS Survey Answered': NpsSurveyAnsweredProperties,
  'Referral Completed': z.looseObject({
    referrer_id: id,
    referred_user_id: z.string().optional(),
    referral_code: z.string().optional(),
    order_id: z.string().optional(),
  }),
  'Email Subscribed': z.looseObject({
    email: z.string().trim().toLowerCase().pipe(z.email()).optional(),
    list_id: z.string().optional(),
    list_name: z.string().optional(),
  }),
  'Email Unsubscribed': z.looseObject({
    email: z.string().trim().toLowerCase().pipe(z.email()).optional(),
    list_id: z.string().optional(),
    list_name: z.string().optional(),
    reason: z.string().optional(),
  }),
  // The store's catalog, sent by its backend (any user id): stock and price as they are now.
  'Product Updated': z.looseObject({
    ...productFields,
    currency: currency.optional(),
    stock: z.number().int().nonnegative().optional(),
    in_stock: z.boolean().optional(),
  }),
} as const;
export type KnownEventName = keyof typeof knownEventProperties;

export function isKnownEvent(name: string): name is KnownEventName {
  return Object.hasOwn(knownEventProperties, name);
}

/**
 * Events about the store's catalog, not about a customer: the scheduler's catalog learns from
 * them, but they make no profile (the backend that sends them uses an id of its own, such as
 * `store`, which is nobody's).
 */
const catalogEvents: ReadonlySet<string> = new Set(['Product Updated']);

export function isCatalogEvent(name: string): boolean {
  return catalogEvents.has(name);
}
