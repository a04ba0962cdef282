import { convertMoney, moneyFromMajor, toMajorUnits, type CurrencyRates, type TemplateProduct } from '@lifecycle/contracts';

/**
 * The product catalog the scheduler learns from events and imports, and the recommendations it
 * makes from it: pure functions of plain data and `now`, no I/O.
 */

const DAY = 86_400_000;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim().length > 0 ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined);

/** A product's identity: `product_id`, else `sku`. */
export function productIdOf(raw: Record<string, unknown>): string | null {
  return str(raw['product_id']) ?? str(raw['sku']) ?? null;
}

/** What an event or an import row says about a product (absent fields say nothing). */
export interface ProductFacts {
  productId: string;
  sku?: string | undefined;
  name?: string | undefined;
  category?: string | undefined;
  url?: string | undefined;
  imageUrl?: string | undefined;
  stock?: number | undefined;
  inStock?: boolean | undefined;
  /** The price in minor units of `currency`. */
  price?: { currency: string; amountMinor: number } | undefined;
}

/** A product's facts from event properties or an import row (`price` in major units of `currency`). */
export function productFacts(raw: Record<string, unknown>, fallbackCurrency?: string): ProductFacts | null {
  const productId = productIdOf(raw);
  if (productId === null) return null;
  const major = num(raw['price']);
  const currency = (str(raw['currency']) ?? fallbackCurrency)?.toUpperCase();
  const money = major !== undefined && currency !== undefined ? moneyFromMajor(major, currency) : null;
  const stock = num(raw['stock']);
  return {
    productId,
    sku: str(raw['sku']),
    name: str(raw['name']),
    category: str(raw['category']),
    url: str(raw['url']),
    imageUrl: str(raw['image_url']),
    stock: stock === undefined ? undefined : Math.trunc(stock),
    inStock: bool(raw['in_stock']),
    price: money === null ? undefined : money,
  };
}

/** A product as the catalog keeps it. */
export interface CatalogProduct {
  productId: string;
  sku: string | null;
  name: string | null;
  category: string | null;
  url: string | null;
  imageUrl: string | null;
  stock: number | null;
  inStock: boolean | null;
  /** Minor units by currency. */
  prices: Record<string, number>;
}

export function emptyProduct(productId: string): CatalogProduct {
  return { productId, sku: null, name: null, category: null, url: null, imageUrl: null, stock: null, inStock: null, prices: {} };
}

/** Out of stock when the catalog knows so (`stock` 0 or `in_stock` false); unknown counts as available. */
export function isOutOfStock(p: Pick<CatalogProduct, 'stock' | 'inStock'>): boolean {
  return (p.stock !== null && p.stock <= 0) || p.inStock === false;
}

/** Known to be available (the other side of a back-in-stock change). */
function isAvailable(p: Pick<CatalogProduct, 'stock' | 'inStock'>): boolean {
  return (p.stock === null || p.stock > 0) && p.inStock !== false && (p.stock !== null || p.inStock !== null);
}

export type CatalogChange = { kind: 'back_in_stock' } | { kind: 'price_drop'; currency: string; fromMinor: number; toMinor: number; percent: number };

/**
 * A product after an update (`Product Updated`, an import row), with what changed that catalog
 * triggers look for: back in stock (out of stock known before, available now) and a lower price
 * in a currency it had a price in. `authoritative` false (a view or a cart): a price only fills a
 * currency not known yet, so a shop page never counts as a price change.
 */
export function applyProductFacts(before: CatalogProduct | null, facts: ProductFacts, authoritative: boolean): { after: CatalogProduct; changes: CatalogChange[] } {
  const base = before ?? emptyProduct(facts.productId);
  const stockGiven = facts.stock !== undefined || facts.inStock !== undefined;
  const after: CatalogProduct = {
    ...base,
    sku: facts.sku ?? base.sku,
    name: facts.name ?? base.name,
    category: facts.category ?? base.category,
    url: facts.url ?? base.url,
    imageUrl: facts.imageUrl ?? base.imageUrl,
    // A stock count alone implies in_stock; in_stock alone leaves the count unknown when it contradicts it.
    stock: authoritative && stockGiven ? (facts.stock ?? (facts.inStock === false ? 0 : base.stock !== null && base.stock > 0 ? base.stock : null)) : base.stock,
    inStock: authoritative && stockGiven ? (facts.inStock ?? (facts.stock !== undefined ? facts.stock > 0 : base.inStock)) : base.inStock,
    prices: { ...base.prices },
  };
  const changes: CatalogChange[] = [];
  if (facts.price !== undefined) {
    const { currency, amountMinor } = facts.price;
    const was = base.prices[currency];
    if (authoritative || was === undefined) after.prices[currency] = amountMinor;
    if (authoritative && was !== undefined && was > 0 && amountMinor < was) {
      changes.push({ kind: 'price_drop', currency, fromMinor: was, toMinor: amountMinor, percent: ((was - amountMinor) / was) * 100 });
    }
  }
  if (authoritative && before !== null && isOutOfStock(before) && isAvailable(after)) changes.unshift({ kind: 'back_in_stock' });
  return { after, changes };
}

export function sameProduct(a: CatalogProduct, b: CatalogProduct): boolean {
  return (
    a.sku === b.sku && a.name === b.name && a.category === b.category && a.url === b.url && a.imageUrl === b.imageUrl && a.stock === b.stock && a.inStock === b.inStock
  );
}

// --- co-purchases -------------------------------------------------------------------------

/** The fixed instant co-purchase weights are stored relative to (see `decayWeight`). */
export const WEIGHT_EPOCH = Date.UTC(2020, 0, 1);

/**
 * A purchase's weight, exp((t − epoch)/τ) with τ = half-life / ln 2: a sum of these decays by the
 * same factor for every pair as time passes, so ranking by the stored sum is ranking by the decayed
 * one and no row ever needs re-decaying.
 */
export function decayWeight(at: Date, halfLifeDays: number): number {
  return Math.exp(((at.getTime() - WEIGHT_EPOCH) / (halfLifeDays * DAY)) * Math.LN2);
}

export interface OrderLine {
  orderId: string;
  productId: string;
  customerId: string;
  orderedAt: Date;
}

export interface CoPurchase {
  productId: string;
  otherId: string;
  /** Sum over customers of the weight of the later of their two purchases. */
  weight: number;
  /** Customers who bought both. */
  support: number;
}

/**
 * Co-purchases from order lines (as the scheduler's intake keeps them, one pair per customer,
 * weighted by when the customer first had both). Evaluation and tests; the intake keeps the
 * same sums in `catalog_co_purchases` incrementally.
 */
export function coPurchasesFrom(lines: readonly OrderLine[], halfLifeDays: number): Map<string, CoPurchase[]> {
  const firstBought = new Map<string, Map<string, number>>();
  for (const l of lines) {
    const mine = firstBought.get(l.customerId) ?? new Map<string, number>();
    firstBought.set(l.customerId, mine);
    const t = mine.get(l.productId);
    if (t === undefined || l.orderedAt.getTime() < t) mine.set(l.productId, l.orderedAt.getTime());
  }
  const pairs = new Map<string, CoPurchase>();
  for (const mine of firstBought.values()) {
    const items = [...mine.entries()];
    for (const [a, ta] of items) {
      for (const [b, tb] of items) {
        if (a === b) continue;
        const key = `${a}\n${b}`;
        const pair = pairs.get(key) ?? { productId: a, otherId: b, weight: 0, support: 0 };
        pair.weight += decayWeight(new Date(Math.max(ta, tb)), halfLifeDays);
        pair.support += 1;
        pairs.set(key, pair);
      }
    }
  }
  const out = new Map<string, CoPurchase[]>();
  for (const p of pairs.values()) out.set(p.productId, [...(out.get(p.productId) ?? []), p]);
  return out;
}

/** Best sellers, best first: recency-weighted purchases per product. */
export function bestSellersFrom(lines: readonly OrderLine[], halfLifeDays: number): string[] {
  const score = new Map<string, number>();
  for (const l of lines) score.set(l.productId, (score.get(l.productId) ?? 0) + decayWeight(l.orderedAt, halfLifeDays));
  return [...score.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([id]) => id);
}

// --- reorder intervals --------------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Per product, the median gap in days between a customer's consecutive orders of it, for
 * products with at least `minSamples` gaps (a product few people reorder has no interval).
 */
export function reorderIntervals(lines: readonly Pick<OrderLine, 'productId' | 'customerId' | 'orderedAt'>[], minSamples: number): Map<string, number> {
  const times = new Map<string, number[]>();
  for (const l of lines) {
    const key = `${l.productId}\n${l.customerId}`;
    times.set(key, [...(times.get(key) ?? []), l.orderedAt.getTime()]);
  }
  const gaps = new Map<string, number[]>();
  for (const [key, ts] of times) {
    const productId = key.split('\n')[0] ?? '';
    const sorted = [...new Set(ts)].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) gaps.set(productId, [...(gaps.get(productId) ?? []), ((sorted[i] ?? 0) - (sorted[i - 1] ?? 0)) / DAY]);
  }
  const out = new Map<string, number>();
  for (const [productId, g] of gaps) if (g.length >= minSamples) out.set(productId, median(g));
  return out;
}

// --- recommendations ----------------------------------------------------------------------

export type RecommendationReason = 'bought_together' | 'category_best_seller' | 'best_seller' | 'favourite' | 'alternative';

export interface RecommendationInput {
  /** Products the recommendation starts from (the order's, the cart's, the viewed one, favourites). */
  seeds: readonly string[];
  /** What the customer bought, with when they last did. */
  bought: ReadonlyMap<string, Date>;
  /** Co-purchases of the seeds (any order). */
  coPurchases: readonly CoPurchase[];
  /** Store best sellers, best first. */
  bestSellers: readonly string[];
  /** Best sellers by category, best first. */
  categoryBestSellers: ReadonlyMap<string, readonly string[]>;
  products: ReadonlyMap<string, CatalogProduct>;
  /** Reorder intervals in days (consumables): bought ones due again may come back. */
  intervals: ReadonlyMap<string, number>;
  currency: string;
  rates?: CurrencyRates | undefined;
  limit: number;
  minSupport: number;
  now: Date;
}

export type Recommendation = TemplateProduct & { reason: RecommendationReason };

/** A product's price in a currency: its own in that currency, else converted by the store's rates, else none. */
export function priceIn(product: CatalogProduct, currency: string, rates: CurrencyRates | undefined): { price: number; currency: string } | null {
  const own = product.prices[currency];
  if (own !== undefined) return { price: toMajorUnits({ amountMinor: own, currency }), currency };
  for (const [from, amountMinor] of Object.entries(product.prices).sort(([a], [b]) => a.localeCompare(b))) {
    const converted = convertMoney({ amountMinor, currency: from }, currency, rates);
    if (converted !== null) return { price: toMajorUnits(converted), currency };
  }
  return null;
}

/** A catalog product as template data, priced in `currency` when it can be. */
export function templateProduct(product: CatalogProduct, currency: string, rates: CurrencyRates | undefined): TemplateProduct {
  const price = priceIn(product, currency, rates);
  return Object.fromEntries(
    Object.entries({
      name: product.name ?? product.sku ?? product.productId,
      productId: product.productId,
      sku: product.sku ?? undefined,
      category: product.category ?? undefined,
      url: product.url ?? undefined,
      imageUrl: product.imageUrl ?? undefined,
      ...(price === null ? {} : price),
    }).filter(([, v]) => v !== undefined),
  ) as TemplateProduct;
}

/**
 * Products to suggest: bought together with the seeds (by recency-weighted co-purchases with at
 * least `minSupport` customers), then best sellers of the seeds' categories, then the store's.
 * Never one the customer bought (unless a consumable due again by its reorder interval), never
 * one known to be out of stock, never a seed.
 */
export function recommend(input: RecommendationInput): Recommendation[] {
  const seeds = new Set(input.seeds);
  const picked: Recommendation[] = [];
  const taken = new Set<string>();
  const eligible = (id: string): boolean => {
    if (seeds.has(id) || taken.has(id)) return false;
    const product = input.products.get(id);
    if (product === undefined || isOutOfStock(product)) return false;
    const last = input.bought.get(id);
    if (last === undefined) return true;
    const interval = input.intervals.get(id);
    return interval !== undefined && input.now.getTime() - last.getTime() >= interval * DAY;
  };
  const take = (id: string, reason: RecommendationReason): void => {
    if (picked.length >= input.limit || !eligible(id)) return;
    const product = input.products.get(id);
    if (product === undefined) return;
    taken.add(id);
    picked.push({ ...templateProduct(product, input.currency, input.rates), reason });
  };
  const together = new Map<string, number>();
  for (const c of input.coPurchases) {
    if (!seeds.has(c.productId) || c.support < input.minSupport) continue;
    together.set(c.otherId, (together.get(c.otherId) ?? 0) + c.weight);
  }
  for (const [id] of [...together.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) take(id, 'bought_together');
  const categories = [...new Set(input.seeds.flatMap((s) => input.products.get(s)?.category ?? []))];
  for (const category of categories) for (const id of input.categoryBestSellers.get(category) ?? []) take(id, 'category_best_seller');
  for (const id of input.bestSellers) take(id, 'best_seller');
  return picked;
}

// --- evaluation ---------------------------------------------------------------------------

export interface Evaluation {
  customers: number;
  hitRateAt3: number;
  baselineHitRateAt3: number;
}

/**
 * Hit rate at 3: for each customer with at least two orders, the last order is held out, the rest
 * (everyone's lines before it is taken out) trained on; a hit when one of three recommendations
 * (seeded with what they bought before) is in the held-out order. The baseline recommends the
 * store's best sellers the customer had not bought.
 */
export function evaluate(lines: readonly OrderLine[], products: ReadonlyMap<string, CatalogProduct>, opts: { halfLifeDays: number; minSupport: number; now: Date }): Evaluation {
  const byCustomer = new Map<string, OrderLine[]>();
  for (const l of lines) byCustomer.set(l.customerId, [...(byCustomer.get(l.customerId) ?? []), l]);
  const heldOut = new Map<string, { orderId: string; products: Set<string> }>();
  for (const [customerId, mine] of byCustomer) {
    const orders = new Map<string, number>();
    for (const l of mine) orders.set(l.orderId, Math.max(orders.get(l.orderId) ?? 0, l.orderedAt.getTime()));
    if (orders.size < 2) continue;
    const [lastOrder] = [...orders.entries()].sort((a, b) => b[1] - a[1] || b[0].localeCompare(a[0]));
    if (lastOrder === undefined) continue;
    const before = new Set(mine.filter((l) => l.orderId !== lastOrder[0]).map((l) => l.productId));
    const fresh = new Set(mine.filter((l) => l.orderId === lastOrder[0] && !before.has(l.productId)).map((l) => l.productId));
    if (fresh.size > 0) heldOut.set(customerId, { orderId: lastOrder[0], products: fresh });
  }
  const training = lines.filter((l) => heldOut.get(l.customerId)?.orderId !== l.orderId);
  const co = coPurchasesFrom(training, opts.halfLifeDays);
  const best = bestSellersFrom(training, opts.halfLifeDays);
  const byCategory = new Map<string, string[]>();
  for (const id of best) {
    const category = products.get(id)?.category;
    if (category != null) byCategory.set(category, [...(byCategory.get(category) ?? []), id]);
  }
  const known = new Map(products);
  for (const l of lines) if (!known.has(l.productId)) known.set(l.productId, emptyProduct(l.productId));
  // Judged on what the catalog held then: stock now says nothing about the held-out order.
  const inStock = new Map([...known.entries()].map(([id, p]) => [id, { ...p, stock: null, inStock: null }]));
  let hits = 0;
  let baseline = 0;
  for (const [customerId, held] of heldOut) {
    const mine = training.filter((l) => l.customerId === customerId);
    const bought = new Map(mine.map((l) => [l.productId, l.orderedAt]));
    const seeds = [...bought.keys()];
    const recs = recommend({
      seeds,
      bought,
      coPurchases: seeds.flatMap((s) => co.get(s) ?? []),
      bestSellers: best,
      categoryBestSellers: byCategory,
      products: inStock,
      intervals: new Map(),
      currency: 'USD',
      limit: 3,
      minSupport: opts.minSupport,
      now: opts.now,
    });
    if (recs.some((r) => r.productId !== undefined && held.products.has(r.productId))) hits++;
    if (best.filter((id) => !bought.has(id)).slice(0, 3).some((id) => held.products.has(id))) baseline++;
  }
  const n = heldOut.size;
  const rate = (k: number): number => (n === 0 ? 0 : Math.round((k / n) * 1000) / 1000);
  return { customers: n, hitRateAt3: rate(hits), baselineHitRateAt3: rate(baseline) };
}
