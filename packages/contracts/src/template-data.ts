import { z } from 'zod';
import { Stage } from './stages.ts';

/**
 * The data a `messages.requested` carries for its template, piece by piece. The scheduler builds
 * it; `./lifecycle templates:check` validates each template's `sample.json` against the schema of
 * the campaigns that use it, so a template reading a variable its campaign never provides fails
 * the check instead of the send. Money is in major units (`12.5` EUR), as the `money` helper takes it,
 * always beside the `currency` it is in (an order's `total` and lines in `order.currency`, a
 * recommendation's `price` in its own `currency`, a milestone in `milestone.currency`).
 */

/**
 * Why the scheduler recommended a product: bought with what the customer has (co-purchases),
 * a best seller of a category they buy from, of the whole store, one of their own favourites
 * (win-back), or an alternative to the product they looked at or left in a cart.
 */
export const RecommendationReason = z.enum(['bought_together', 'category_best_seller', 'best_seller', 'favourite', 'alternative']);
export type RecommendationReason = z.infer<typeof RecommendationReason>;

export const TemplateProduct = z.strictObject({
  name: z.string(),
  quantity: z.number().optional(),
  price: z.number().optional(),
  sku: z.string().optional(),
  productId: z.string().optional(),
  category: z.string().optional(),
  url: z.string().optional(),
  imageUrl: z.string().optional(),
  /**
   * The ISO 4217 code `price` is in, when the product carries its own (recommendations, a
   * viewed or catalog product); order lines are in their order's `currency`.
   */
  currency: z.string().optional(),
  /** Why a recommendation was picked (recommendations only), for copy that says so. */
  reason: RecommendationReason.optional(),
});
export type TemplateProduct = z.infer<typeof TemplateProduct>;

export const TemplateCustomer = z.strictObject({
  id: z.string(),
  email: z.string(),
  firstName: z.string().nullable().optional(),
  name: z.string().nullable().optional(),
});

/** An order: the trigger's, or the customer's latest for stage and date campaigns. */
export const TemplateOrder = z.strictObject({
  orderId: z.string(),
  total: z.number().optional(),
  currency: z.string().optional(),
  products: z.array(TemplateProduct),
  /** When it was placed (ISO 8601). */
  placedAt: z.string().optional(),
});
export type TemplateOrder = z.infer<typeof TemplateOrder>;

/** A started checkout or a cart, for abandonment campaigns. */
export const TemplateCart = z.strictObject({
  checkoutId: z.string().optional(),
  cartId: z.string().optional(),
  total: z.number().optional(),
  currency: z.string().optional(),
  products: z.array(TemplateProduct),
});

/** A viewed product, for browse abandonment. */
export const TemplateViewedProduct = TemplateProduct.extend({ currency: z.string().optional() });
export type TemplateViewedProduct = z.infer<typeof TemplateViewedProduct>;

/**
 * A product the customer orders again and again (`catalog: replenishment`): when they last
 * ordered it (ISO 8601) and their usual days between two orders of it.
 */
export const TemplateReplenishmentProduct = TemplateViewedProduct.extend({ lastOrderedAt: z.string(), intervalDays: z.number() });
export type TemplateReplenishmentProduct = z.infer<typeof TemplateReplenishmentProduct>;

/**
 * A product back in stock or cheaper now (`catalog: back_in_stock`, `catalog: price_drop`):
 * `price` and `previousPrice` (what it cost before the drop), both in `currency`.
 */
export const TemplateCatalogProduct = TemplateViewedProduct.extend({ previousPrice: z.number().optional() });
export type TemplateCatalogProduct = z.infer<typeof TemplateCatalogProduct>;

/**
 * The customer's own coupon code, for campaigns with an `offer`: messaging assigns it when it
 * sends. `expiresAt` is the end of the last day it is valid (ISO instant), `expiresOn` that day
 * in the customer's zone (`YYYY-MM-DD`, for `{{date offer.expiresOn}}`). What it is worth, for
 * the copy: `percent`, or `amount` (major units) in `currency`.
 */
export const TemplateOffer = z.strictObject({
  code: z.string(),
  expiresAt: z.string(),
  expiresOn: z.string(),
  percent: z.number().optional(),
  amount: z.number().optional(),
  currency: z.string().optional(),
});
export type TemplateOffer = z.infer<typeof TemplateOffer>;

export const TemplateStage = z.strictObject({ from: Stage.nullable(), to: Stage });

export const OccasionKind = z.enum(['birthday', 'first_order_anniversary', 'signup_anniversary']);
export type OccasionKind = z.infer<typeof OccasionKind>;

/** A yearly date of the customer's. `years` is how many years since (not set for birthdays). */
export const TemplateOccasion = z.strictObject({ kind: OccasionKind, date: z.string(), years: z.number().int().optional() });

/** Lifetime spend passed a threshold: both in major units of the milestone's `currency`. */
export const TemplateMilestone = z.strictObject({ lifetimeSpend: z.number(), threshold: z.number(), currency: z.string() });

/** Any other event: its name and properties as sent. */
export const TemplateEvent = z.strictObject({ name: z.string(), properties: z.record(z.string(), z.unknown()) });

export const TemplateCampaign = z.strictObject({ id: z.string(), variant: z.string().optional() });
