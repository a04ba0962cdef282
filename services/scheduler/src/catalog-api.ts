import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { CurrencyRates } from '@lifecycle/contracts';
import type { FastifyInstance, Runtime } from '@lifecycle/kit';
import { bestSellers, coPurchasesOf, interestsOf, loadProducts, loadReorderIntervals, purchasesOf, type CatalogSettings } from './db/catalog-repository.ts';
import { contacts } from './db/schema.ts';
import type { Clock } from './domain/clock.ts';
import { evaluate, priceIn, recommend, type OrderLine } from './domain/catalog.ts';

export interface CatalogApiOptions {
  runtime: Runtime;
  clock: Clock;
  catalog: CatalogSettings;
  rates?: CurrencyRates | undefined;
  /** The currency of a customer with no order yet. */
  storeCurrency: string;
}

const ProductQuery = z.object({ q: z.string().trim().max(100).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });
const IdParams = z.object({ id: z.string().min(1) });
const RecommendationQuery = z.object({ limit: z.coerce.number().int().min(1).max(12).default(3), currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').optional() });
/** Evaluation reads at most this many of the latest order lines. */
const EVALUATION_LINES = 200_000;

const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The catalog's read API: products, a customer's recommendations, how well recommendations do. */
export function registerCatalogApi(app: FastifyInstance, opts: CatalogApiOptions): void {
  const { db } = opts.runtime;

  app.get('/catalog/products', async (request) => {
    const { q, limit } = ProductQuery.parse(request.query);
    const pattern = q === undefined || q === '' ? null : likePattern(q);
    const { rows } = await db.execute<{ product_id: string }>(sql`
      SELECT product_id FROM scheduler.catalog_products
      ${pattern === null ? sql`` : sql`WHERE name ILIKE ${pattern} OR product_id ILIKE ${pattern} OR sku ILIKE ${pattern} OR category ILIKE ${pattern}`}
      ORDER BY product_id LIMIT ${limit + 1}`);
    const products = await loadProducts(
      db,
      rows.slice(0, limit).map((r) => r.product_id),
    );
    return {
      products: rows.slice(0, limit).flatMap((r) => {
        const p = products.get(r.product_id);
        if (p === undefined) return [];
        return [
          {
            productId: p.productId,
            sku: p.sku,
            name: p.name,
            category: p.category,
            url: p.url,
            imageUrl: p.imageUrl,
            stock: p.stock,
            inStock: p.inStock,
            prices: Object.keys(p.prices)
              .sort()
              .flatMap((currency) => {
                const price = priceIn(p, currency, undefined);
                return price === null ? [] : [{ currency, amountMinor: p.prices[currency] ?? 0, amount: price.price }];
              }),
          },
        ];
      }),
      more: rows.length > limit,
    };
  });

  app.get('/customers/:id/recommendations', async (request) => {
    const { id } = IdParams.parse(request.params);
    const query = RecommendationQuery.parse(request.query);
    const [contact] = await db.select({ currency: contacts.currency }).from(contacts).where(sql`${contacts.customerId} = ${id}`);
    const currency = query.currency ?? contact?.currency ?? opts.storeCurrency;
    const [bought, favourites, best] = await Promise.all([purchasesOf(db, [id]), interestsOf(db, [id]), bestSellers(db)]);
    const mine = bought.get(id) ?? new Map<string, Date>();
    const seeds = [...new Set([...(favourites.get(id) ?? []), ...mine.keys()])];
    const co = await coPurchasesOf(db, seeds, opts.catalog.minSupport);
    const [products, intervals] = await Promise.all([loadProducts(db, [...seeds, ...co.map((c) => c.otherId), ...best.overall, ...[...best.byCategory.values()].flat()]), loadReorderIntervals(db, [...mine.keys()], opts.catalog.minReorderSamples)]);
    const recommendations = recommend({
      seeds,
      bought: mine,
      coPurchases: co,
      bestSellers: best.overall,
      categoryBestSellers: best.byCategory,
      products,
      intervals,
      currency,
      rates: opts.rates,
      limit: query.limit,
      minSupport: opts.catalog.minSupport,
      now: opts.clock.now(),
    });
    return { customerId: id, currency, seeds, recommendations };
  });

  app.get('/recommendations/evaluation', async () => {
    const { rows } = await db.execute<{ order_id: string; product_id: string; customer_id: string; ordered_at: string | Date }>(sql`
      SELECT order_id, product_id, customer_id, ordered_at FROM scheduler.catalog_order_lines ORDER BY ordered_at DESC LIMIT ${EVALUATION_LINES}`);
    const lines: OrderLine[] = rows.map((r) => ({ orderId: r.order_id, productId: r.product_id, customerId: r.customer_id, orderedAt: new Date(r.ordered_at) }));
    const products = await loadProducts(db, [...new Set(lines.map((l) => l.productId))]);
    return evaluate(lines, products, { halfLifeDays: opts.catalog.halfLifeDays, minSupport: opts.catalog.minSupport, now: opts.clock.now() });
  });
}
