import { z } from 'zod';
import {
  orderEventValue,
  toMajorUnits,
  type Normalized,
  TemplateCampaign,
  TemplateCart,
  TemplateCustomer,
  TemplateEvent,
  TemplateMilestone,
  TemplateOccasion,
  TemplateOrder,
  TemplateProduct,
  TemplateStage,
  TemplateViewedProduct,
} from '@lifecycle/contracts';
import type { Campaign } from './campaign.ts';


/** Which part of the template data an event fills in, by its name. */
export function eventDataKind(event: string): 'order' | 'cart' | 'product' | 'event' {
  if (event.startsWith('Order ')) return 'order';
  if (event === 'Checkout Started' || event === 'Cart Viewed') return 'cart';
  if (event === 'Product Viewed' || event === 'Product Added' || event === 'Product Added to Wishlist') return 'product';
  return 'event';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function defined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function productOf(raw: unknown): TemplateProduct | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const p = (key: string): unknown => Reflect.get(raw, key);
  const name = str(p('name')) ?? str(p('sku')) ?? str(p('product_id'));
  if (name === undefined) return null;
  return defined({
    name,
    quantity: num(p('quantity')),
    price: num(p('price')),
    sku: str(p('sku')),
    productId: str(p('product_id')),
    category: str(p('category')),
    url: str(p('url')),
    imageUrl: str(p('image_url')),
  });
}

function productsOf(properties: Record<string, unknown>): TemplateProduct[] {
  const list = properties['products'];
  return Array.isArray(list) ? list.flatMap((p) => productOf(p) ?? []) : [];
}

/** What ingestion derived from the event: its amounts in minor units and their currency. */
type EventMoney = Pick<Normalized, 'money' | 'orderValue'> | undefined;

/** The currency an event's amounts are in, as ingestion checked it, else as sent. */
function currencyOf(properties: Record<string, unknown>, normalized: EventMoney): string | undefined {
  return normalized?.money?.currency ?? str(properties['currency'])?.trim().toUpperCase();
}

/**
 * An order for templates. Events after the order (`Order Delivered`) often carry only its id;
 * the order as it was completed fills in the lines and total. The total is the order's value by
 * the shared order-value rule (`total`, else `revenue`), in the currency it came in.
 */
export function orderData(properties: Record<string, unknown>, normalized: EventMoney, known: TemplateOrder | null, placedAt: Date | null): TemplateOrder | null {
  const orderId = str(properties['order_id']);
  if (orderId === undefined) return null;
  const same = known !== null && known.orderId === orderId ? known : null;
  const products = productsOf(properties);
  // A later event about the same order that names no currency is in the order's.
  const currency = currencyOf(properties, normalized) ?? same?.currency;
  const value = orderEventValue({ properties: currency === undefined ? properties : { ...properties, currency }, normalized });
  return defined({
    orderId,
    total: value === null ? same?.total : toMajorUnits(value),
    currency: value?.currency ?? currency,
    products: products.length > 0 ? products : (same?.products ?? []),
    placedAt: same?.placedAt ?? placedAt?.toISOString(),
  });
}

export function cartData(properties: Record<string, unknown>, normalized?: EventMoney): z.infer<typeof TemplateCart> {
  return defined({
    checkoutId: str(properties['checkout_id']),
    cartId: str(properties['cart_id']),
    total: num(properties['total']) ?? num(properties['value']),
    currency: currencyOf(properties, normalized),
    products: productsOf(properties),
  });
}

export function viewedProductData(properties: Record<string, unknown>, normalized?: EventMoney): z.infer<typeof TemplateViewedProduct> | null {
  const product = productOf(properties);
  return product === null ? null : defined({ ...product, currency: currencyOf(properties, normalized) });
}

/**
 * Cross-sell: products for the categories bought (then `default`), none already bought. A
 * priced recommendation is offered only to an order in the same currency (a yen customer is not
 * shown a dollar price); one without a price is offered to all. A store selling in several
 * currencies lists a product once per currency.
 */
export function recommendationsFor(recommendations: NonNullable<Campaign['recommendations']>, order: TemplateOrder): TemplateProduct[] {
  const bought = new Set(order.products.flatMap((p) => [p.sku, p.productId, p.name].filter((v) => v !== undefined)));
  // Categories match whatever their case: stores send `coffee`, marketers write `Coffee`.
  const byCategory = new Map(Object.entries(recommendations.byCategory).map(([k, v]) => [k.toLowerCase(), v]));
  const categories = [...new Set(order.products.flatMap((p) => (p.category === undefined ? [] : [p.category.toLowerCase()]))), 'default'];
  const picked: TemplateProduct[] = [];
  for (const category of categories) {
    for (const product of byCategory.get(category) ?? []) {
      if (product.price !== undefined && product.currency !== order.currency) continue;
      const ids = [product.sku, product.productId, product.name].filter((v) => v !== undefined);
      if (ids.some((id) => bought.has(id)) || picked.some((p) => p.name === product.name)) continue;
      picked.push(product);
    }
  }
  return picked.slice(0, recommendations.limit);
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
export function templateDataSchema(campaign: Campaign): z.ZodType {
  // `campaign` is always sent, but most templates never read it; samples may leave it out.
  const shape: Record<string, z.ZodType> = { customer: TemplateCustomer, campaign: TemplateCampaign.optional() };
  const trigger = campaign.trigger;
  if ('event' in trigger) {
    const kind = eventDataKind(trigger.event);
    if (kind === 'order') shape['order'] = TemplateOrder;
    else if (kind === 'cart') shape['cart'] = TemplateCart;
    else if (kind === 'product') shape['product'] = TemplateViewedProduct;
    else shape['event'] = TemplateEvent;
    // A recommendation's price is in its own currency, which it must carry.
    if (campaign.recommendations !== undefined) shape['recommendations'] = z.array(TemplateProduct.refine((p) => p.price === undefined || p.currency !== undefined, { message: 'a priced recommendation carries its currency', path: ['currency'] }));
  } else if ('stage' in trigger) {
    shape['stage'] = TemplateStage;
    shape['lastOrder'] = TemplateOrder.optional();
  } else if ('date' in trigger) {
    shape['occasion'] = TemplateOccasion;
  } else {
    shape['milestone'] = TemplateMilestone;
  }
  for (const [key, value] of Object.entries(campaign.data ?? {})) shape[key] = shapeOf(value);
  return z.strictObject(shape);
}
