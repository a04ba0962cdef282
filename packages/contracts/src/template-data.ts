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
   * The ISO 4217 code `price` is in, when the product carries its own (cross-sell
   * recommendations); order lines are in their order's `currency`.
   */
  currency: z.string().optional(),
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
