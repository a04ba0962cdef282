import { z } from 'zod';
import {
  TemplateCampaign,
  TemplateCart,
  TemplateCatalogProduct,
  TemplateCustomer,
  TemplateEvent,
  TemplateMilestone,
  TemplateOccasion,
  TemplateOffer,
  TemplateOrder,
  TemplateProduct,
  TemplateReplenishmentProduct,
  TemplateStage,
  TemplateViewedProduct,
} from './template-data.ts';

/** The catalog triggers: a consumable due again, a wanted product back in stock, a price drop. */
export const CatalogTriggerKind = z.enum(['replenishment', 'back_in_stock', 'price_drop']);
export type CatalogTriggerKind = z.infer<typeof CatalogTriggerKind>;

/**
 * What decides the data a campaign gives its templates, read from a campaign file
 * (`campaigns/<id>.yaml`): its templates, its trigger, its recommendations, its coupon
 * (`offer`) and its fixed `data`. The
 * scheduler, which owns the files, validates them in full; messaging's `templates:check` reads
 * only these fields to check each template's `sample.json` against its campaigns, so the two
 * services share this contract and not each other's code. Loose: the other fields are ignored.
 */
export const CampaignTemplateUse = z.looseObject({
  id: z.string(),
  template: z.string(),
  variants: z.array(z.looseObject({ template: z.string().optional() })).optional(),
  trigger: z.union([
    z.looseObject({ event: z.string() }),
    z.looseObject({ stage: z.unknown() }),
    z.looseObject({ date: z.unknown() }),
    z.looseObject({ milestone: z.unknown() }),
    z.looseObject({ catalog: CatalogTriggerKind }),
    z.looseObject({ engagement: z.unknown() }),
  ]),
  recommendations: z.unknown().optional(),
  /** A coupon per message (`{ pool, expiresInDays, … }`): its messages carry `offer`. */
  offer: z.unknown().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type CampaignTemplateUse = z.infer<typeof CampaignTemplateUse>;

/** The templates a campaign sends: its own and its variants'. */
export function templatesOf(campaign: CampaignTemplateUse): string[] {
  return [...new Set([campaign.template, ...(campaign.variants ?? []).flatMap((v) => (v.template === undefined ? [] : [v.template]))])];
}

/** Which part of the template data an event fills in, by its name. */
export function eventDataKind(event: string): 'order' | 'cart' | 'product' | 'event' {
  if (event.startsWith('Order ')) return 'order';
  if (event === 'Checkout Started' || event === 'Cart Viewed') return 'cart';
  if (event === 'Product Viewed' || event === 'Product Added' || event === 'Product Added to Wishlist') return 'product';
  return 'event';
}

/** A zod schema that accepts exactly the shape of a fixed value from a campaign file. */
function shapeOf(value: unknown): z.ZodType {
  if (Array.isArray(value)) return z.array(value.length > 0 ? shapeOf(value[0]) : z.unknown());
  if (value === null) return z.null();
  if (typeof value === 'object') return z.strictObject(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)])));
  if (typeof value === 'number') return z.number();
  if (typeof value === 'boolean') return z.boolean();
  return z.string();
}

/**
 * Everything a campaign's messages can carry, as a strict schema: a template's `sample.json`
 * must fit it, so a variable the campaign never provides fails `templates:check`.
 */
export function templateDataSchema(campaign: CampaignTemplateUse): z.ZodType {
  // `campaign` is always sent, but most templates never read it; samples may leave it out.
  const shape: Record<string, z.ZodType> = { customer: TemplateCustomer, campaign: TemplateCampaign.optional() };
  const trigger = campaign.trigger;
  const event = trigger.event;
  if (typeof event === 'string') {
    const kind = eventDataKind(event);
    if (kind === 'order') shape['order'] = TemplateOrder;
    else if (kind === 'cart') shape['cart'] = TemplateCart;
    else if (kind === 'product') shape['product'] = TemplateViewedProduct;
    else shape['event'] = TemplateEvent;
  } else if ('catalog' in trigger) {
    shape['product'] = trigger.catalog === 'replenishment' ? TemplateReplenishmentProduct : TemplateCatalogProduct;
  } else if ('stage' in trigger) {
    shape['stage'] = TemplateStage;
    shape['lastOrder'] = TemplateOrder.optional();
  } else if ('date' in trigger) {
    shape['occasion'] = TemplateOccasion;
  } else if ('milestone' in trigger) {
    shape['milestone'] = TemplateMilestone;
  }
  // An engagement trigger (the re-permission mail) fills in nothing of its own.
  // Any trigger may have recommendations; each priced one is in its own currency, which it must carry.
  if (campaign.recommendations !== undefined) shape['recommendations'] = z.array(TemplateProduct.refine((p) => p.price === undefined || p.currency !== undefined, { message: 'a priced recommendation carries its currency', path: ['currency'] }));
  // Messaging adds the customer's own code when it sends (`offer` is reserved in `data`), so the
  // scheduler's request has none yet; a template that prints it fails the check without it in its sample.
  if (campaign.offer !== undefined) shape['offer'] = TemplateOffer.optional();
  for (const [key, value] of Object.entries(campaign.data ?? {})) shape[key] = shapeOf(value);
  return z.strictObject(shape);
}
