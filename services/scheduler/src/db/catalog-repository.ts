import { sql } from 'drizzle-orm';
import type { Transaction } from '@lifecycle/kit';
import { applyProductFacts, productFacts, productIdOf, sameProduct, WEIGHT_EPOCH, type CatalogChange, type CatalogProduct, type CoPurchase, type OrderLine, type ProductFacts } from '../domain/catalog.ts';

/** How the catalog learns (`CATALOG_*` settings). */
export interface CatalogSettings {
  /** Half-life of a purchase's weight in co-purchases and best sellers, in days. */
  halfLifeDays: number;
  /** Customers who must have bought two products before they count as bought together. */
  minSupport: number;
  /** Gaps between reorders a product needs before it has a reorder interval. */
  minReorderSamples: number;
}

export const defaultCatalogSettings: CatalogSettings = { halfLifeDays: 90, minSupport: 2, minReorderSamples: 5 };

type Db = Pick<Transaction, 'execute'>;

/** One thing an event or import row says about a product, in the order they came. */
export interface FactItem {
  /** The event (or import) it came from: names a change it causes. */
  sourceId: string;
  at: Date;
  facts: ProductFacts;
  /** `Product Updated` and imports: prices and stock as they are now. Views, carts and orders only fill gaps. */
  authoritative: boolean;
}

export interface Interest {
  customerId: string;
  productId: string;
  kind: 'viewed' | 'carted' | 'wishlisted';
  at: Date;
}

/** What a batch of lifecycle events says to the catalog. */
export interface CatalogIntake {
  facts: FactItem[];
  interests: Interest[];
  lines: (OrderLine & { quantity: number })[];
}

const interestKinds: Record<string, Interest['kind']> = { 'Product Viewed': 'viewed', 'Product Added': 'carted', 'Product Added to Wishlist': 'wishlisted' };

/** Reads products, interests and order lines from one tracked event (pure). */
export function intakeOf(event: { id: string; customerId: string; name: string; properties: Record<string, unknown>; currency: string | undefined; at: Date }, into: CatalogIntake): void {
  const { properties: p, at } = event;
  if (event.name === 'Product Updated') {
    const facts = productFacts(p, event.currency);
    if (facts !== null) into.facts.push({ sourceId: event.id, at, facts, authoritative: true });
    return;
  }
  const kind = interestKinds[event.name];
  if (kind !== undefined) {
    const facts = productFacts(p, event.currency);
    if (facts === null) return;
    into.facts.push({ sourceId: event.id, at, facts, authoritative: false });
    into.interests.push({ customerId: event.customerId, productId: facts.productId, kind, at });
    return;
  }
  if (event.name !== 'Order Completed') return;
  const orderId = typeof p['order_id'] === 'string' || typeof p['order_id'] === 'number' ? String(p['order_id']) : event.id;
  const products = Array.isArray(p['products']) ? p['products'] : [];
  for (const raw of products) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue;
    const line = Object.fromEntries(Object.entries(raw));
    const facts = productFacts(line, event.currency);
    if (facts === null) continue;
    // A line's price may be discounted: it fills a currency's price only when none is known.
    into.facts.push({ sourceId: event.id, at, facts: { ...facts, stock: undefined, inStock: undefined }, authoritative: false });
    const quantity = typeof line['quantity'] === 'number' && Number.isFinite(line['quantity']) ? Math.max(1, Math.trunc(line['quantity'])) : 1;
    into.lines.push({ orderId, productId: facts.productId, customerId: event.customerId, orderedAt: at, quantity });
  }
}

interface ProductRow extends Record<string, unknown> {
  product_id: string;
  sku: string | null;
  name: string | null;
  category: string | null;
  url: string | null;
  image_url: string | null;
  stock: number | null;
  in_stock: boolean | null;
  prices: Record<string, number> | null;
}

function productFromRow(r: ProductRow): CatalogProduct {
  const prices: Record<string, number> = {};
  for (const [currency, amount] of Object.entries(r.prices ?? {})) prices[currency] = Number(amount);
  return { productId: r.product_id, sku: r.sku, name: r.name, category: r.category, url: r.url, imageUrl: r.image_url, stock: r.stock, inStock: r.in_stock, prices };
}

/** Products with their prices, one statement. */
export async function loadProducts(db: Db, ids: readonly string[]): Promise<Map<string, CatalogProduct>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.execute<ProductRow>(sql`
    SELECT p.product_id, p.sku, p.name, p.category, p.url, p.image_url, p.stock, p.in_stock,
      (SELECT jsonb_object_agg(c.currency, c.amount_minor) FROM scheduler.catalog_prices c WHERE c.product_id = p.product_id) AS prices
    FROM scheduler.catalog_products p
    WHERE p.product_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(ids)])}::jsonb)))`);
  return new Map(rows.map((r) => [r.product_id, productFromRow(r)]));
}

/** A change to a product, with the source that caused it. */
export interface RecordedChange {
  sourceId: string;
  at: Date;
  product: CatalogProduct;
  change: CatalogChange;
}

/**
 * Applies product facts in order: the products read once, changed ones written once (unchanged
 * ones not at all), and the changes (back in stock, price drops) returned for the catalog triggers.
 */
export async function recordProducts(tx: Db, items: readonly FactItem[], now: Date): Promise<RecordedChange[]> {
  if (items.length === 0) return [];
  const ids = [...new Set(items.map((i) => i.facts.productId))].sort();
  // Batches of other partitions may update the same products: each product's row is created if
  // new and locked (in id order, so two batches never wait on each other), then read and written.
  await tx.execute(sql`
    INSERT INTO scheduler.catalog_products (product_id, updated_at)
    SELECT id, ${now.toISOString()}::timestamptz FROM jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) AS x(id) ORDER BY id
    ON CONFLICT (product_id) DO NOTHING`);
  await tx.execute(sql`
    SELECT 1 FROM scheduler.catalog_products WHERE product_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))) ORDER BY product_id FOR UPDATE`);
  const before = await loadProducts(tx, ids);
  const current = new Map(before);
  const changes: RecordedChange[] = [];
  for (const item of items) {
    const { after, changes: found } = applyProductFacts(current.get(item.facts.productId) ?? null, item.facts, item.authoritative);
    current.set(after.productId, after);
    for (const change of found) changes.push({ sourceId: item.sourceId, at: item.at, product: after, change });
  }
  const products: Record<string, unknown>[] = [];
  const prices: { product_id: string; currency: string; amount_minor: number }[] = [];
  for (const [id, after] of current) {
    const was = before.get(id);
    if (was === undefined || !sameProduct(was, after)) {
      products.push({ product_id: id, sku: after.sku, name: after.name, category: after.category, url: after.url, image_url: after.imageUrl, stock: after.stock, in_stock: after.inStock });
    }
    for (const [currency, amount] of Object.entries(after.prices)) if (was?.prices[currency] !== amount) prices.push({ product_id: id, currency, amount_minor: amount });
  }
  if (products.length > 0) {
    await tx.execute(sql`
      INSERT INTO scheduler.catalog_products (product_id, sku, name, category, url, image_url, stock, in_stock, updated_at)
      SELECT x.product_id, x.sku, x.name, x.category, x.url, x.image_url, x.stock, x.in_stock, ${now.toISOString()}::timestamptz
      FROM jsonb_to_recordset(${JSON.stringify(products)}::jsonb) AS x(product_id text, sku text, name text, category text, url text, image_url text, stock int, in_stock boolean)
      ON CONFLICT (product_id) DO UPDATE SET sku = excluded.sku, name = excluded.name, category = excluded.category, url = excluded.url,
        image_url = excluded.image_url, stock = excluded.stock, in_stock = excluded.in_stock, updated_at = excluded.updated_at`);
  }
  if (prices.length > 0) {
    await tx.execute(sql`
      INSERT INTO scheduler.catalog_prices (product_id, currency, amount_minor)
      SELECT x.product_id, x.currency, x.amount_minor FROM jsonb_to_recordset(${JSON.stringify(prices)}::jsonb) AS x(product_id text, currency text, amount_minor bigint)
      ON CONFLICT (product_id, currency) DO UPDATE SET amount_minor = excluded.amount_minor`);
  }
  return changes;
}

/** Interests, latest time kept, one statement. */
export async function recordInterests(tx: Db, interests: readonly Interest[]): Promise<void> {
  if (interests.length === 0) return;
  const latest = new Map<string, Interest>();
  for (const i of interests) {
    const key = `${i.customerId}\n${i.productId}\n${i.kind}`;
    const seen = latest.get(key);
    if (seen === undefined || seen.at < i.at) latest.set(key, i);
  }
  const rows = [...latest.values()].map((i) => ({ customer_id: i.customerId, product_id: i.productId, kind: i.kind, last_at: i.at.toISOString() }));
  await tx.execute(sql`
    INSERT INTO scheduler.catalog_interests (customer_id, product_id, kind, last_at)
    SELECT x.customer_id, x.product_id, x.kind, x.last_at FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(customer_id text, product_id text, kind text, last_at timestamptz)
    ON CONFLICT (customer_id, product_id, kind) DO UPDATE SET last_at = GREATEST(catalog_interests.last_at, excluded.last_at)`);
}

/**
 * Order lines and, in the same statement, the co-purchases they make: a product a customer buys
 * for the first time pairs with everything else they bought (before or in this batch), both
 * ways, once per customer, weighted by when they first had both (the later of the two). An order
 * seen again inserts no line and so counts nothing twice.
 */
export async function recordOrderLines(tx: Db, lines: readonly (OrderLine & { quantity: number })[], settings: CatalogSettings): Promise<void> {
  if (lines.length === 0) return;
  const unique = new Map<string, Record<string, unknown>>();
  for (const l of lines) {
    const key = `${l.orderId}\n${l.productId}`;
    if (!unique.has(key)) unique.set(key, { order_id: l.orderId, product_id: l.productId, customer_id: l.customerId, ordered_at: l.orderedAt.toISOString(), quantity: l.quantity });
  }
  const tauSeconds = (settings.halfLifeDays * 86_400) / Math.LN2;
  const epoch = new Date(WEIGHT_EPOCH).toISOString();
  // Statements in one WITH see the table as it was before it: `scheduler.catalog_order_lines` below holds no line of this batch.
  await tx.execute(sql`
    WITH x AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify([...unique.values()])}::jsonb) AS x(order_id text, product_id text, customer_id text, ordered_at timestamptz, quantity int)
    ), ins AS (
      INSERT INTO scheduler.catalog_order_lines (order_id, product_id, customer_id, ordered_at, quantity)
      SELECT order_id, product_id, customer_id, ordered_at, quantity FROM x
      ON CONFLICT (order_id, product_id) DO NOTHING
      RETURNING customer_id, product_id, ordered_at
    ), firsts AS (
      SELECT i.customer_id, i.product_id, min(i.ordered_at) AS t FROM ins i
      WHERE NOT EXISTS (SELECT 1 FROM scheduler.catalog_order_lines l WHERE l.customer_id = i.customer_id AND l.product_id = i.product_id)
      GROUP BY 1, 2
    ), mine AS (
      SELECT l.customer_id, l.product_id, min(l.ordered_at) AS t FROM scheduler.catalog_order_lines l WHERE l.customer_id IN (SELECT customer_id FROM firsts) GROUP BY 1, 2
      UNION ALL
      SELECT customer_id, product_id, t FROM firsts
    ), pairs AS (
      SELECT f.customer_id, f.product_id AS a, m.product_id AS b, GREATEST(f.t, m.t) AS t
      FROM firsts f JOIN mine m ON m.customer_id = f.customer_id AND m.product_id <> f.product_id
    ), both_ways AS (
      SELECT customer_id, a, b, max(t) AS t FROM (SELECT customer_id, a, b, t FROM pairs UNION ALL SELECT customer_id, b, a, t FROM pairs) p GROUP BY 1, 2, 3
    ), sold AS (
      -- Each new line adds to its product's sales weight (best sellers read this, not the lines).
      INSERT INTO scheduler.catalog_products AS p (product_id, updated_at, sales_weight)
      SELECT product_id, now(), sum(exp(extract(epoch FROM (ordered_at - ${epoch}::timestamptz)) / ${tauSeconds})) FROM ins GROUP BY product_id ORDER BY product_id
      ON CONFLICT (product_id) DO UPDATE SET sales_weight = p.sales_weight + excluded.sales_weight
    )
    INSERT INTO scheduler.catalog_co_purchases (product_id, other_id, weight, support)
    SELECT a, b, sum(exp(extract(epoch FROM (t - ${epoch}::timestamptz)) / ${tauSeconds})), count(*) FROM both_ways GROUP BY a, b
    ON CONFLICT (product_id, other_id) DO UPDATE SET weight = catalog_co_purchases.weight + excluded.weight, support = catalog_co_purchases.support + excluded.support`);
  // The reorder gaps of each (customer, product) the batch ordered, from all their lines: a late
  // order between two others splits their gap. A customer's lines of one product are few.
  const pairs = JSON.stringify([...new Map([...unique.values()].map((l) => [`${String(l['customer_id'])}\n${String(l['product_id'])}`, { customer_id: l['customer_id'], product_id: l['product_id'] }])).values()]);
  await tx.execute(sql`
    DELETE FROM scheduler.catalog_reorder_gaps g USING jsonb_to_recordset(${pairs}::jsonb) AS a(customer_id text, product_id text)
    WHERE g.customer_id = a.customer_id AND g.product_id = a.product_id`);
  await tx.execute(sql`
    INSERT INTO scheduler.catalog_reorder_gaps (product_id, customer_id, ordered_at, gap_days)
    SELECT product_id, customer_id, ordered_at, gap FROM (
      SELECT d.product_id, d.customer_id, d.ordered_at, extract(epoch FROM d.ordered_at - lag(d.ordered_at) OVER (PARTITION BY d.product_id, d.customer_id ORDER BY d.ordered_at)) / 86400 AS gap
      FROM (
        SELECT DISTINCT l.product_id, l.customer_id, l.ordered_at FROM scheduler.catalog_order_lines l
        JOIN jsonb_to_recordset(${pairs}::jsonb) AS a(customer_id text, product_id text) ON l.customer_id = a.customer_id AND l.product_id = a.product_id
      ) d
    ) g WHERE gap IS NOT NULL`);
}

/** Everything a batch says to the catalog, set-based; returns the product changes it saw. */
export async function recordIntake(tx: Db, intake: CatalogIntake, settings: CatalogSettings, now: Date): Promise<RecordedChange[]> {
  const changes = await recordProducts(tx, intake.facts, now);
  await recordInterests(tx, intake.interests);
  await recordOrderLines(tx, intake.lines, settings);
  return changes;
}

/** Reorder intervals (median gap in days) of these products, or of all when none are named. */
export async function loadReorderIntervals(db: Db, productIds: readonly string[] | null, minSamples: number): Promise<Map<string, number>> {
  if (productIds !== null && productIds.length === 0) return new Map();
  const filter = productIds === null ? sql`TRUE` : sql`product_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(productIds)])}::jsonb)))`;
  const { rows } = await db.execute<{ product_id: string; days: number }>(sql`
    SELECT product_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_days) AS days FROM scheduler.catalog_reorder_gaps
    WHERE ${filter} GROUP BY product_id HAVING count(*) >= ${minSamples}`);
  return new Map(rows.map((r) => [r.product_id, Number(r.days)]));
}

/**
 * Reorder intervals as each order saw them: per order (`key`), the median gap of each of its
 * products over the gaps of orders placed up to the order's own time. What else the batch holds
 * (orders placed later, by other customers) does not move an order's reminder, so where a batch
 * happens to end changes nothing.
 */
export async function reorderIntervalsAsOf(db: Db, orders: readonly { key: string; productIds: readonly string[]; at: Date }[], minSamples: number): Promise<Map<string, Map<string, number>>> {
  const pairs = orders.flatMap((o) => [...new Set(o.productIds)].map((productId) => ({ key: o.key, product_id: productId, at: o.at.toISOString() })));
  const out = new Map<string, Map<string, number>>();
  if (pairs.length === 0) return out;
  const { rows } = await db.execute<{ key: string; product_id: string; days: number }>(sql`
    SELECT x.key, x.product_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY g.gap_days) AS days
    FROM jsonb_to_recordset(${JSON.stringify(pairs)}::jsonb) AS x(key text, product_id text, at timestamptz)
    JOIN scheduler.catalog_reorder_gaps g ON g.product_id = x.product_id AND g.ordered_at <= x.at
    GROUP BY x.key, x.product_id HAVING count(*) >= ${minSamples}`);
  for (const r of rows) out.set(r.key, (out.get(r.key) ?? new Map<string, number>()).set(r.product_id, Number(r.days)));
  return out;
}

/** Customers interested in products since a time, who have not bought them after that interest. */
export async function interestedCustomers(db: Db, productIds: readonly string[], since: Date): Promise<{ customerId: string; productId: string }[]> {
  if (productIds.length === 0) return [];
  const { rows } = await db.execute<{ customer_id: string; product_id: string }>(sql`
    SELECT i.customer_id, i.product_id FROM scheduler.catalog_interests i
    WHERE i.product_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(productIds)])}::jsonb))) AND i.last_at >= ${since.toISOString()}::timestamptz
      AND NOT EXISTS (SELECT 1 FROM scheduler.catalog_order_lines l WHERE l.customer_id = i.customer_id AND l.product_id = i.product_id AND l.ordered_at >= i.last_at)
    GROUP BY 1, 2 ORDER BY 1, 2`);
  return rows.map((r) => ({ customerId: r.customer_id, productId: r.product_id }));
}

/** What the given customers bought, with when they last did. */
export async function purchasesOf(db: Db, customerIds: readonly string[]): Promise<Map<string, Map<string, Date>>> {
  const out = new Map<string, Map<string, Date>>();
  if (customerIds.length === 0) return out;
  const { rows } = await db.execute<{ customer_id: string; product_id: string; last_at: string | Date }>(sql`
    SELECT customer_id, product_id, max(ordered_at) AS last_at FROM scheduler.catalog_order_lines
    WHERE customer_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(customerIds)])}::jsonb))) GROUP BY 1, 2`);
  for (const r of rows) {
    const mine = out.get(r.customer_id) ?? new Map<string, Date>();
    mine.set(r.product_id, new Date(r.last_at));
    out.set(r.customer_id, mine);
  }
  return out;
}

/** Customers' interests (favourites), most recent first. */
export async function interestsOf(db: Db, customerIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (customerIds.length === 0) return out;
  const { rows } = await db.execute<{ customer_id: string; product_id: string }>(sql`
    SELECT customer_id, product_id FROM scheduler.catalog_interests
    WHERE customer_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(customerIds)])}::jsonb)))
    GROUP BY 1, 2 ORDER BY 1, max(last_at) DESC, 2`);
  for (const r of rows) out.set(r.customer_id, [...(out.get(r.customer_id) ?? []), r.product_id]);
  return out;
}

/** Co-purchases of the seeds with at least `minSupport`, best first. */
export async function coPurchasesOf(db: Db, seeds: readonly string[], minSupport: number): Promise<CoPurchase[]> {
  if (seeds.length === 0) return [];
  const { rows } = await db.execute<{ product_id: string; other_id: string; weight: number; support: number }>(sql`
    SELECT product_id, other_id, weight, support FROM scheduler.catalog_co_purchases
    WHERE product_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(seeds)])}::jsonb))) AND support >= ${minSupport}
    ORDER BY weight DESC LIMIT 500`);
  return rows.map((r) => ({ productId: r.product_id, otherId: r.other_id, weight: Number(r.weight), support: Number(r.support) }));
}

/** Best sellers (recency-weighted purchases), store-wide and by category, best first. */
export async function bestSellers(db: Db, perCategory = 20, overall = 50): Promise<{ overall: string[]; byCategory: Map<string, string[]> }> {
  // From the products' running sales weights (kept as lines arrive): no order line is read.
  const { rows } = await db.execute<{ product_id: string; category: string | null; score: number; overall_rank: number; category_rank: number }>(sql`
    WITH r AS (
      SELECT product_id, category, sales_weight AS score, row_number() OVER (ORDER BY sales_weight DESC, product_id) AS overall_rank,
        row_number() OVER (PARTITION BY category ORDER BY sales_weight DESC, product_id) AS category_rank
      FROM scheduler.catalog_products WHERE sales_weight > 0
    )
    SELECT * FROM r WHERE overall_rank <= ${overall} OR (category IS NOT NULL AND category_rank <= ${perCategory}) ORDER BY score DESC, product_id`);
  const byCategory = new Map<string, string[]>();
  for (const r of rows) if (r.category !== null && Number(r.category_rank) <= perCategory) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r.product_id]);
  return { overall: rows.filter((r) => Number(r.overall_rank) <= overall).map((r) => r.product_id), byCategory };
}

/** Whether each (customer, product) was ordered after a time: replenishment skips those. */
export async function orderedSince(db: Db, checks: readonly { customerId: string; productId: string; since: Date }[]): Promise<Set<string>> {
  if (checks.length === 0) return new Set();
  const rows = checks.map((c) => ({ customer_id: c.customerId, product_id: c.productId, since: c.since.toISOString() }));
  const { rows: found } = await db.execute<{ customer_id: string; product_id: string }>(sql`
    SELECT DISTINCT x.customer_id, x.product_id FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(customer_id text, product_id text, since timestamptz)
    JOIN scheduler.catalog_order_lines l ON l.customer_id = x.customer_id AND l.product_id = x.product_id AND l.ordered_at > x.since`);
  return new Set(found.map((r) => `${r.customer_id}\n${r.product_id}`));
}

export { productIdOf };
