import type { CurrencyRates, TemplateProduct } from '@lifecycle/contracts';
import type { Campaign, CampaignSettings, Delay } from './campaign.ts';
import { priceIn, templateProduct, type CatalogChange, type CatalogProduct } from './catalog.ts';
import { dueTime, type ContactState, type PlannedJob } from './planning.ts';
import { assignVariant } from './variants.ts';

const DAY = 86_400_000;

type CatalogKind = 'replenishment' | 'back_in_stock' | 'price_drop';

/** The campaign's catalog trigger of this kind, if it has one and is enabled. */
export function catalogTrigger<K extends CatalogKind>(campaign: Campaign, kind: K): Extract<Campaign['trigger'], { catalog: K }> | null {
  const t = campaign.trigger;
  if (!campaign.enabled || !('catalog' in t) || t.catalog !== kind) return null;
  return t as Extract<Campaign['trigger'], { catalog: K }>;
}

/** An ordered product, as the replenishment plan needs it. */
export interface OrderedProduct {
  productId: string;
  /** The line as template data (name, price in the order's currency, …). */
  product: TemplateProduct;
}

/**
 * Replenishment: for each ordered product with a learned reorder interval, a message due that many
 * days after the order (at the campaign's local time when its delay is `{ days, at }`, its days
 * added), one per customer, product and order.
 */
export function planReplenishment(
  campaign: Campaign,
  order: { eventId: string; orderId: string; at: Date; currency: string | undefined; lines: readonly OrderedProduct[] },
  contact: ContactState,
  settings: CampaignSettings,
  intervals: ReadonlyMap<string, number>,
): PlannedJob[] {
  if (catalogTrigger(campaign, 'replenishment') === null) return [];
  const seen = new Set<string>();
  return order.lines.flatMap((line): PlannedJob[] => {
    const interval = intervals.get(line.productId);
    if (interval === undefined || seen.has(line.productId)) return [];
    seen.add(line.productId);
    const days = Math.max(1, Math.round(interval));
    const delay: Delay = campaign.delay.kind === 'local' ? { kind: 'local', days: campaign.delay.days + days, at: campaign.delay.at } : { kind: 'duration', ms: campaign.delay.ms + days * DAY };
    const product = { ...line.product, ...(order.currency !== undefined && line.product.price !== undefined ? { currency: order.currency } : {}), lastOrderedAt: order.at.toISOString(), intervalDays: days };
    return [
      {
        dedupeKey: `${campaign.id}:${contact.customerId}:replenish-${line.productId}-${order.orderId}`,
        campaignId: campaign.id,
        customerId: contact.customerId,
        triggerEventId: order.eventId,
        triggerAt: order.at,
        triggerProps: { order_id: order.orderId, product_id: line.productId },
        dueAt: dueTime(campaign, settings, contact, order.at, delay),
        category: campaign.category,
        variant: assignVariant(campaign, contact.customerId).variant,
        triggerData: { product },
      },
    ];
  });
}

/** A change the catalog saw: `id` names it (the event, or the import and product). */
export interface SeenChange {
  id: string;
  at: Date;
  product: CatalogProduct;
  change: CatalogChange;
}

/**
 * Back in stock or price drop, for one interested customer: a message with the product priced in
 * the customer's currency (a price drop only to customers who pay in the currency whose price
 * fell, with the price before). Null when the campaign does not take this change.
 */
export function planCatalogChange(campaign: Campaign, seen: SeenChange, contact: ContactState, settings: CampaignSettings, rates: CurrencyRates | undefined): PlannedJob | null {
  const { change } = seen;
  const currency = contact.currency ?? settings.storeCurrency;
  let product: Record<string, unknown>;
  if (change.kind === 'back_in_stock') {
    if (catalogTrigger(campaign, 'back_in_stock') === null) return null;
    product = templateProduct(seen.product, currency, rates);
  } else {
    const t = catalogTrigger(campaign, 'price_drop');
    if (t === null || change.percent < t.minDropPercent || change.currency !== currency) return null;
    const previous = priceIn({ ...seen.product, prices: { [change.currency]: change.fromMinor } }, currency, undefined);
    product = { ...templateProduct(seen.product, currency, rates), ...(previous === null ? {} : { previousPrice: previous.price }) };
  }
  return {
    dedupeKey: `${campaign.id}:${contact.customerId}:${change.kind}-${seen.product.productId}-${seen.id}`,
    campaignId: campaign.id,
    customerId: contact.customerId,
    triggerEventId: seen.id,
    triggerAt: seen.at,
    triggerProps: { product_id: seen.product.productId },
    dueAt: dueTime(campaign, settings, contact, seen.at),
    category: campaign.category,
    variant: assignVariant(campaign, contact.customerId).variant,
    triggerData: { product },
  };
}
