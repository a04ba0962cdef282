import { describe, expect, it } from 'vitest';
import { applyProductFacts, coPurchasesFrom, bestSellersFrom, decayWeight, emptyProduct, evaluate, productFacts, recommend, reorderIntervals, type CatalogProduct, type OrderLine, type RecommendationInput } from './catalog.ts';

const T0 = new Date('2026-01-05T10:00:00Z');
const days = (n: number) => new Date(T0.getTime() + n * 86_400_000);
const product = (id: string, category: string, prices: Record<string, number> = { USD: 1000 }, stock: number | null = null): CatalogProduct => ({ ...emptyProduct(id), name: id, category, prices, stock });

const products = new Map<string, CatalogProduct>(
  [product('tea', 'tea', { USD: 1200, JPY: 1800 }), product('teapot', 'tea', { USD: 4500, JPY: 6500 }), product('coffee', 'coffee'), product('grinder', 'coffee', { USD: 8000 }), product('mug', 'kitchen', { USD: 900 })].map((p) => [p.productId, p]),
);

let n = 0;
const line = (customerId: string, productId: string, at: Date, orderId = `o-${++n}`): OrderLine => ({ customerId, productId, orderedAt: at, orderId });
const history: OrderLine[] = [
  ...['a', 'b', 'c'].flatMap((c) => {
    const o = `o-${c}`;
    return [line(c, 'tea', days(0), o), line(c, 'teapot', days(0), o)];
  }),
  ...['d', 'e', 'f', 'g'].flatMap((c) => {
    const o = `o-${c}`;
    return [line(c, 'coffee', days(1), o), line(c, 'grinder', days(1), o)];
  }),
];

function input(over: Partial<RecommendationInput>): RecommendationInput {
  const co = coPurchasesFrom(history, 90);
  const seeds = over.seeds ?? ['tea'];
  return {
    seeds,
    bought: new Map(seeds.map((s) => [s, days(2)])),
    coPurchases: seeds.flatMap((s) => co.get(s) ?? []),
    bestSellers: bestSellersFrom(history, 90),
    categoryBestSellers: new Map([['coffee', ['coffee', 'grinder']], ['tea', ['tea', 'teapot']]]),
    products,
    intervals: new Map(),
    currency: 'USD',
    limit: 3,
    minSupport: 2,
    now: days(3),
    ...over,
  };
}

describe('recommend', () => {
  it('suggests what was bought together with the seed first, priced in the customer’s currency', () => {
    const recs = recommend(input({ currency: 'JPY' }));
    expect(recs[0]).toEqual({ name: 'teapot', productId: 'teapot', category: 'tea', price: 6500, currency: 'JPY', reason: 'bought_together' });
    // Then store best sellers (grinder has no yen price and no rate: shown without one).
    expect(recs.slice(1).map((r) => r.productId)).toEqual(['coffee', 'grinder']);
    expect(recs[2]).not.toHaveProperty('price');
  });

  it('converts with the store’s rates when the catalog has no price in the currency', () => {
    const recs = recommend(input({ seeds: ['coffee'], currency: 'EUR', rates: { base: 'EUR', rates: { USD: 0.5 } } }));
    expect(recs[0]).toMatchObject({ productId: 'grinder', price: 40, currency: 'EUR', reason: 'bought_together' });
  });

  it('needs the minimum support before calling products bought together', () => {
    const recs = recommend(input({ minSupport: 4 }));
    expect(recs[0]).toMatchObject({ productId: 'teapot', reason: 'category_best_seller' });
  });

  it('never suggests what is out of stock or already bought, unless a consumable is due again', () => {
    const out = new Map(products);
    out.set('teapot', { ...product('teapot', 'tea'), stock: 0 });
    expect(recommend(input({ products: out })).map((r) => r.productId)).not.toContain('teapot');
    const bought = new Map([
      ['tea', days(2)],
      ['coffee', days(-40)],
    ]);
    expect(recommend(input({ bought })).map((r) => r.productId)).not.toContain('coffee');
    expect(recommend(input({ bought, intervals: new Map([['coffee', 30]]) })).map((r) => r.productId)).toContain('coffee');
  });
});

describe('co-purchase weights', () => {
  it('weigh recent purchases more, stored relative to a fixed epoch', () => {
    expect(decayWeight(days(90), 90) / decayWeight(days(0), 90)).toBeCloseTo(2, 6);
    const co = coPurchasesFrom([line('x', 'a', days(0), 'o1'), line('x', 'b', days(10), 'o2'), line('x', 'a', days(20), 'o3')], 90);
    // One customer is one pair, dated when they first had both.
    expect(co.get('a')).toEqual([{ productId: 'a', otherId: 'b', support: 1, weight: decayWeight(days(10), 90) }]);
  });
});

describe('reorder intervals', () => {
  it('are the median gap between a customer’s orders of a product, from enough samples', () => {
    const lines = ['p', 'q', 'r'].flatMap((c, i) => [0, 30 + i, 60 + 2 * i].map((d) => line(c, 'beans', days(d))));
    expect(reorderIntervals(lines, 5).get('beans')).toBe(31);
    expect(reorderIntervals(lines, 7).has('beans')).toBe(false);
  });
});

describe('product updates', () => {
  it('see a product come back in stock and a price fall', () => {
    const before = { ...product('tea', 'tea', { USD: 1200 }), stock: 0 };
    const { after, changes } = applyProductFacts(before, productFacts({ product_id: 'tea', stock: 4, price: 10, currency: 'USD' }) ?? { productId: 'tea' }, true);
    expect(after).toMatchObject({ stock: 4, inStock: true, prices: { USD: 1000 } });
    expect(changes).toEqual([{ kind: 'back_in_stock' }, { kind: 'price_drop', currency: 'USD', fromMinor: 1200, toMinor: 1000, percent: expect.closeTo(16.67, 1) }]);
  });

  it('take a viewed price only for a currency not known yet', () => {
    const { after, changes } = applyProductFacts(product('tea', 'tea', { USD: 1200 }), productFacts({ sku: 'tea', price: 9, currency: 'USD' }) ?? { productId: 'tea' }, false);
    expect(after.prices).toEqual({ USD: 1200 });
    expect(changes).toEqual([]);
  });
});

describe('evaluation', () => {
  it('beats the best-seller baseline when products go together', () => {
    const lines: OrderLine[] = [];
    for (let i = 0; i < 4; i++) lines.push(line(`u${i}`, 'tea', days(i), `u${i}-1`), line(`u${i}`, 'teapot', days(i), `u${i}-1`));
    for (let i = 0; i < 6; i++) lines.push(line(`t${i}`, 'tea', days(i), `t${i}-1`), line(`t${i}`, 'teapot', days(i + 5), `t${i}-2`));
    for (let i = 0; i < 10; i++) lines.push(line(`c${i}`, 'coffee', days(i), `c${i}-1`), line(`c${i}`, 'grinder', days(i), `c${i}-1`), line(`c${i}`, 'mug', days(i), `c${i}-1`));
    const result = evaluate(lines, products, { halfLifeDays: 90, minSupport: 2, now: days(30) });
    expect(result.customers).toBe(6);
    expect(result.hitRateAt3).toBe(1);
    expect(result.baselineHitRateAt3).toBe(0);
  });
});
