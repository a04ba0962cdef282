import { z } from 'zod';
import { orderEventValue, toMajorUnits, type Normalized, TemplateCart, TemplateOrder, TemplateProduct, TemplateViewedProduct } from '@lifecycle/contracts';
import type { Campaign } from './campaign.ts';

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
export function recommendationsFor(recommendations: { byCategory: NonNullable<NonNullable<Campaign['recommendations']>['byCategory']>; limit: number }, order: TemplateOrder): TemplateProduct[] {
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
