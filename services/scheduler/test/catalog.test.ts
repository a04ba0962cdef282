import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifecycleEvent, MessageRequested } from '@lifecycle/contracts';
import { sql } from 'drizzle-orm';
import { inTransaction, openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { importCatalog } from '../src/catalog-commands.ts';
import { loadConfig } from '../src/config.ts';
import { parseCatalogFile } from '../src/domain/catalog-file.ts';
import { Campaign, CampaignSettings } from '../src/domain/campaign.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * The catalog through the scheduler on the real broker and database: it learns products, prices,
 * co-purchases and reorder intervals from events, recommends what goes together in the
 * customer's currency (never what is out of stock), plans replenishment from learned intervals
 * and a back-in-stock mail for a customer who viewed the product.
 */

const S = new Date('2026-05-04T08:00:00.000Z');
const at = (days: number, hours = 0) => new Date(S.getTime() + days * 86_400_000 + hours * 3_600_000);

const crossSell = Campaign.parse({ id: 'cross-sell', name: 'Cross-sell', template: 'cross-sell', category: 'marketing', trigger: { event: 'Order Completed' }, delay: 'PT1H', recommendations: { limit: 2 } });
const replenishment = Campaign.parse({ id: 'replenishment-reminder', name: 'Replenishment', template: 'replenishment-reminder', category: 'marketing', trigger: { catalog: 'replenishment' }, delay: { days: 0, at: '10:00' } });
const backInStock = Campaign.parse({ id: 'back-in-stock', name: 'Back in stock', template: 'back-in-stock', category: 'marketing', trigger: { catalog: 'back_in_stock', lookbackDays: 30 }, reentry: { every: 'P14D' } });
const priceDrop = Campaign.parse({ id: 'price-drop', name: 'Price drop', template: 'price-drop', category: 'marketing', trigger: { catalog: 'price_drop', lookbackDays: 30, minDropPercent: 10 } });
const settings = CampaignSettings.parse({});
const catalog = { halfLifeDays: 90, minSupport: 2, minReorderSamples: 3 };

let seq = 0;
function call(customerId: string, when: Date, body: Record<string, unknown>): LifecycleEvent {
  const id = `ev-${++seq}-${customerId}`;
  return LifecycleEvent.parse({ id, type: 'commerce.event', version: 1, occurredAt: when.toISOString(), customerId, causationId: id, payload: { call: { messageId: id, timestamp: when.toISOString(), userId: customerId, ...body } } });
}
const identify = (customerId: string, when: Date) => call(customerId, when, { type: 'identify', traits: { email: `${customerId}@example.com`, first_name: customerId } });
const track = (customerId: string, event: string, properties: Record<string, unknown>, when: Date) => call(customerId, when, { type: 'track', event, properties });
const order = (customerId: string, orderId: string, currency: string, products: { id: string; price: number }[], when: Date) =>
  track(customerId, 'Order Completed', { order_id: orderId, currency, total: products.reduce((n, p) => n + p.price, 0), products: products.map((p) => ({ product_id: p.id, name: p.id, price: p.price, quantity: 1 })) }, when);
const updated = (productId: string, props: Record<string, unknown>, when: Date) => track('store', 'Product Updated', { product_id: productId, name: productId, ...props }, when);

let infra: TestInfra;
let runtime: Runtime;
let scheduler: Scheduler;
let producer: Producer;
let requested: Awaited<ReturnType<typeof collectTopic>>;
const clock = simulatedClock(S);
const send = (events: LifecycleEvent[]) => publish(producer, infra.prefix, 'lifecycleEvents', events, { at: clock.now() });

async function jobsOf(customerId: string): Promise<{ dedupeKey: string; campaignId: string; status: string; dueAt: string }[]> {
  return (await scheduler.app.inject({ url: `/customers/${customerId}/jobs` })).json().jobs;
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  scheduler = await startScheduler({
    runtime,
    campaigns: [crossSell, replenishment, backInStock, priceDrop],
    settings,
    clock,
    simulated: clock,
    pollMs: 60_000,
    catalog,
  });
  producer = await connectedProducer(infra);
  requested = await collectTopic(infra, 'messagesRequested');
});

afterAll(async () => {
  await Promise.all([requested?.stop(), producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

describe('the product catalog', () => {
  it('learns from order history and product updates', async () => {
    const history = [
      // Old orders (weeks before they reach Kafka): history, which starts no campaign but teaches the catalog.
      ...['t1', 't2', 't3'].map((c) => order(c, `o-${c}`, 'USD', [{ id: 'tea', price: 12 }, { id: 'teapot', price: 45 }, { id: 'kettle', price: 60 }], at(-30))),
      order('t1', 'o-t1-b', 'USD', [{ id: 'infuser', price: 8 }], at(-29)),
      ...['c1', 'c2', 'c3', 'c4'].map((c) => order(c, `o-${c}`, 'USD', [{ id: 'coffee', price: 14 }, { id: 'grinder', price: 80 }], at(-30))),
      // Beans every 30 days: a reorder interval from six gaps.
      ...['r1', 'r2', 'r3'].flatMap((c) => [-70, -40, -10].map((d) => order(c, `o-${c}${d}`, 'USD', [{ id: 'beans', price: 10 }], at(d)))),
      updated('tea', { category: 'tea', price: 12, currency: 'USD' }, at(0, -2)),
      updated('tea', { price: 1800, currency: 'JPY' }, at(0, -2)),
      updated('teapot', { category: 'tea', price: 45, currency: 'USD', stock: 7 }, at(0, -2)),
      updated('teapot', { price: 6500, currency: 'JPY' }, at(0, -2)),
      updated('infuser', { category: 'tea', price: 8, currency: 'USD' }, at(0, -2)),
      updated('kettle', { category: 'tea', price: 60, currency: 'USD', stock: 0 }, at(0, -2)),
      updated('grinder', { category: 'coffee', price: 80, currency: 'USD' }, at(0, -2)),
      updated('coffee', { category: 'coffee', price: 14, currency: 'USD' }, at(0, -2)),
    ];
    await send(history);
    await eventually(async () => {
      const body = (await scheduler.app.inject({ url: '/catalog/products' })).json();
      expect(body.products.map((p: { productId: string }) => p.productId)).toEqual(['beans', 'coffee', 'grinder', 'infuser', 'kettle', 'tea', 'teapot']);
      expect(body.products.find((p: { productId: string }) => p.productId === 'teapot')).toMatchObject({
        stock: 7,
        inStock: true,
        prices: [
          { currency: 'JPY', amountMinor: 6500, amount: 6500 },
          { currency: 'USD', amountMinor: 4500, amount: 45 },
        ],
      });
    });
    // Every order line in (each partition's batch applied), and no campaign started from history.
    await eventually(async () => expect((await runtime.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM scheduler.catalog_order_lines`)).rows[0]?.n).toBe(27));
    expect((await runtime.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM scheduler.jobs`)).rows[0]?.n).toBe(0);
  });

  it('recommends what was bought together, in the customer’s currency, and nothing out of stock', async () => {
    await send([identify('ken', S), order('ken', 'o-ken', 'JPY', [{ id: 'tea', price: 1800 }], S)]);
    await eventually(async () => expect((await jobsOf('ken')).map((j) => j.campaignId)).toEqual(['cross-sell']));
    await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: at(0, 1).toISOString() } });
    const [message] = await eventually(() => {
      expect(requested.records).toHaveLength(1);
      return requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value)));
    });
    // The teapot (bought with tea by three customers) in yen; the kettle goes with tea too but is out of stock; then the tea category's best seller, not the grinder.
    expect(message?.payload.data['recommendations']).toEqual([
      { name: 'teapot', productId: 'teapot', category: 'tea', price: 6500, currency: 'JPY', reason: 'bought_together' },
      { name: 'infuser', productId: 'infuser', category: 'tea', reason: 'category_best_seller' },
    ]);
    const api = (await scheduler.app.inject({ url: '/customers/ken/recommendations' })).json();
    expect(api).toMatchObject({ customerId: 'ken', currency: 'JPY', recommendations: [{ productId: 'teapot', price: 6500, currency: 'JPY' }, { productId: 'infuser' }, { productId: 'beans', reason: 'best_seller' }] });
  });

  it('plans a replenishment reminder from the learned reorder interval', async () => {
    await send([identify('nia', at(0, 1)), order('nia', 'o-nia', 'USD', [{ id: 'beans', price: 10 }], at(0, 1))]);
    await eventually(async () => expect((await jobsOf('nia')).map((j) => j.campaignId).sort()).toEqual(['cross-sell', 'replenishment-reminder']));
    const job = (await jobsOf('nia')).find((j) => j.campaignId === 'replenishment-reminder');
    // 30 days after the order, at 10:00 (the store's zone, UTC).
    expect(job).toMatchObject({ dedupeKey: 'replenishment-reminder:nia:replenish-beans-o-nia', status: 'pending', dueAt: '2026-06-03T10:00:00.000Z' });
    const [data] = (await runtime.db.execute<{ trigger_data: unknown }>(sql`SELECT trigger_data FROM scheduler.jobs WHERE dedupe_key = ${job?.dedupeKey}`)).rows;
    expect(data?.trigger_data).toEqual({ product: { name: 'beans', productId: 'beans', price: 10, currency: 'USD', quantity: undefined, lastOrderedAt: at(0, 1).toISOString(), intervalDays: 30 } });
  });

  it('plans a reminder from the interval as of its order: later orders of the same batch do not move it', async () => {
    // Seven customers who buy beans every 90 days place their second order an hour after ola's,
    // in the same publish: with their gaps the median would be 90 days, but at ola's order it is 30.
    const slow = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7'];
    await send([
      identify('ola', at(0, 2)),
      order('ola', 'o-ola', 'USD', [{ id: 'beans', price: 10 }], at(0, 2)),
      ...slow.flatMap((c) => [order(c, `o-${c}-1`, 'USD', [{ id: 'beans', price: 10 }], at(-90, 3)), order(c, `o-${c}-2`, 'USD', [{ id: 'beans', price: 10 }], at(0, 3))]),
    ]);
    await eventually(async () => expect((await runtime.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM scheduler.catalog_reorder_gaps WHERE customer_id LIKE 'q%'`)).rows[0]?.n).toBe(slow.length));
    await eventually(async () => expect((await jobsOf('ola')).map((j) => j.campaignId)).toContain('replenishment-reminder'));
    const [data] = (await runtime.db.execute<{ trigger_data: { product: { intervalDays: number } } }>(sql`SELECT trigger_data FROM scheduler.jobs WHERE dedupe_key = 'replenishment-reminder:ola:replenish-beans-o-ola'`)).rows;
    expect(data?.trigger_data.product.intervalDays).toBe(30);
    // The interval a new order sees now counts the slow buyers' gaps.
    const later = (await runtime.db.execute<{ days: number }>(sql`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_days) AS days FROM scheduler.catalog_reorder_gaps WHERE product_id = 'beans'`)).rows[0];
    expect(Number(later?.days)).toBeGreaterThan(80);
  });

  it('plans a back-in-stock mail for a customer who viewed the product', async () => {
    await send([identify('vic', at(0, 1)), track('vic', 'Product Viewed', { product_id: 'kettle', name: 'kettle', price: 60, currency: 'USD' }, at(0, 1))]);
    await eventually(async () => {
      const body = (await scheduler.app.inject({ url: '/customers/vic/recommendations' })).json();
      expect(body.seeds).toEqual(['kettle']);
    });
    expect(await jobsOf('vic')).toEqual([]);
    await send([updated('kettle', { stock: 5 }, at(0, 2))]);
    await eventually(async () => expect((await jobsOf('vic')).map((j) => j.campaignId)).toEqual(['back-in-stock']));
    // Those who never looked at it get nothing.
    expect(await jobsOf('c1')).toEqual([]);
  });

  it('mails a customer about products back in stock at most once a fortnight, whichever product', async () => {
    const view = (product: string) => track('wes', 'Product Viewed', { product_id: product, name: product, price: 30, currency: 'USD' }, at(0, 1));
    await send([identify('wes', at(0, 1)), view('mill'), view('scale')]);
    await send([updated('mill', { stock: 0 }, at(1)), updated('scale', { stock: 0 }, at(1))]);
    await send([updated('mill', { stock: 4 }, at(2)), updated('scale', { stock: 2 }, at(2, 1))]);
    await send([updated('mill', { stock: 0 }, at(10)), updated('mill', { stock: 3 }, at(17))]);
    // The store's updates share one partition: the last job shows every update before it was read.
    await eventually(async () => expect((await jobsOf('wes')).filter((j) => j.campaignId === 'back-in-stock')).toHaveLength(2));
    const keys = (await jobsOf('wes')).map((j) => j.dedupeKey).sort();
    expect(keys).toEqual([expect.stringMatching(/^back-in-stock:wes:back_in_stock-mill-/), expect.stringMatching(/^back-in-stock:wes:back_in_stock-mill-/)]);
  });

  it('plans a price-drop mail from an import, for customers who pay in the currency that fell', async () => {
    const parsed = parseCatalogFile('feed.json', JSON.stringify([{ product_id: 'kettle', price: 50, currency: 'USD' }, { product_id: 'teapot', price: 44.5, currency: 'USD' }]), 'USD');
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const result = await inTransaction(runtime.pool, (tx) => importCatalog(tx, { campaigns: [priceDrop], settings, catalog }, parsed.products, 'import-1', at(0, 3), runtime.logger));
    // Teapot fell by 1%: below the campaign's 10%.
    expect(result).toEqual({ changes: 2, planned: 1 });
    const { rows } = await runtime.db.execute<{ dedupe_key: string; trigger_data: unknown }>(sql`SELECT dedupe_key, trigger_data FROM scheduler.jobs WHERE campaign_id = 'price-drop'`);
    expect(rows).toEqual([{ dedupe_key: 'price-drop:vic:price_drop-kettle-import-1:kettle', trigger_data: { product: { name: 'kettle', productId: 'kettle', category: 'tea', price: 50, currency: 'USD', previousPrice: 60 } } }]);
    // The same file again changes nothing.
    expect(await inTransaction(runtime.pool, (tx) => importCatalog(tx, { campaigns: [priceDrop], settings, catalog }, parsed.products, 'import-2', at(0, 4), runtime.logger))).toEqual({ changes: 0, planned: 0 });
  });

  it('skips a replenishment reminder when the customer bought the product again', async () => {
    await send([order('nia', 'o-nia-2', 'USD', [{ id: 'beans', price: 10 }], at(5))]);
    await eventually(async () => expect((await jobsOf('nia')).filter((j) => j.campaignId === 'replenishment-reminder')).toHaveLength(2));
    await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-06-03T10:00:00.000Z' } });
    const first = (await jobsOf('nia')).find((j) => j.dedupeKey === 'replenishment-reminder:nia:replenish-beans-o-nia');
    expect(first).toMatchObject({ status: 'skipped', skipReason: 'condition', skipDetail: 'beans ordered again since' });
  });

  it('evaluates recommendations against best sellers', async () => {
    const body = (await scheduler.app.inject({ url: '/recommendations/evaluation' })).json();
    expect(body).toEqual({ customers: expect.any(Number), hitRateAt3: expect.any(Number), baselineHitRateAt3: expect.any(Number) });
    expect(body.customers).toBeGreaterThan(0);
  });
});
