import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifecycleEvent, MessageRequested, topicName } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
// The messaging service's own catalog, in strict mode: what a customer would read.
import { createTemplateCatalog } from '@lifecycle/messaging/templates';
import { loadCampaigns, type CampaignSet } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { Campaign } from '../src/domain/campaign.ts';
import { simulatedClock, type SimulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * Money across currencies, through the scheduler on the real broker and database with the
 * shipped campaigns (the $500 loyalty milestone, the thank-you), a cross-sell with products listed
 * by hand in three currencies (test/fixtures) and a yen and a euro milestone: a yen, a euro and a dollar customer each get mails with amounts only in their own
 * currency, taken from their own orders (or the campaign's prices in that currency); a refund, a
 * cancellation and an order sent twice count as the order-value rule says.
 */

const S = new Date('2026-03-02T14:00:00.000Z'); // a Monday
const at = (days: number, hours = 0) => new Date(S.getTime() + days * 86_400_000 + hours * 3_600_000);
const END = at(30);

// The cross-sell with products listed by hand per currency (the shipped one learns them from orders).
const crossSell = Campaign.parse(parseYaml(readFileSync(join(import.meta.dirname, 'fixtures', 'cross-sell-by-category.yaml'), 'utf8')));
const perk = { perk: { name: 'free shipping for a year', url: 'https://oakandember.example.com/account/perks' } };
const yenMilestone = Campaign.parse({ id: 'loyalty-milestone-jpy', name: 'Loyalty milestone (yen)', template: 'loyalty-milestone', category: 'marketing', trigger: { milestone: { lifetimeSpend: 75_000, currency: 'JPY' } }, delay: 'PT2H', data: perk });
const euroMilestone = Campaign.parse({ id: 'loyalty-milestone-eur', name: 'Loyalty milestone (euro)', template: 'loyalty-milestone', category: 'marketing', trigger: { milestone: { lifetimeSpend: 450, currency: 'EUR' } }, delay: 'PT2H', data: perk });

let seq = 0;
function call(customerId: string, when: Date, body: Record<string, unknown>, id = `ev-${++seq}-${customerId}`): LifecycleEvent {
  return LifecycleEvent.parse({ id, type: 'commerce.event', version: 1, occurredAt: when.toISOString(), customerId, causationId: id, payload: { call: { messageId: id, timestamp: when.toISOString(), userId: customerId, ...body } } });
}
const identify = (customerId: string, traits: Record<string, string>, when: Date) => call(customerId, when, { type: 'identify', traits: { email: `${customerId}@example.com`, first_name: customerId, ...traits } });
const track = (customerId: string, event: string, properties: Record<string, unknown>, when: Date) => call(customerId, when, { type: 'track', event, properties });
/** As ingestion publishes it: amounts also in minor units, the order's value by the order-value rule. */
function order(customerId: string, orderId: string, total: number, minor: number, currency: string, category: string, when: Date): LifecycleEvent {
  return call(customerId, when, {
    type: 'track',
    event: 'Order Completed',
    properties: { order_id: orderId, total, currency, products: [{ name: `Item of ${orderId}`, sku: `SKU-${orderId}`, price: total, quantity: 1, category }] },
    normalized: { timestampOffset: 'Z', money: { currency, amounts: { total: minor, 'products.0.price': minor } }, orderValue: { amountMinor: minor, currency } },
  });
}

interface Step {
  at: Date;
  events: LifecycleEvent[];
}

const steps: Step[] = [
  {
    at: at(0),
    events: [
      identify('ken', { locale: 'ja-JP', timezone: 'Asia/Tokyo' }, at(0)),
      identify('eva', { locale: 'de-DE', timezone: 'Europe/Berlin' }, at(0)),
      identify('dan', { locale: 'en-US', timezone: 'America/New_York' }, at(0)),
      // ¥3,200 once: "past 500" in dollars it is not.
      order('ken', 'k-1', 3200, 3200, 'JPY', 'Coffee', at(0)),
      order('eva', 'e-1', 45.5, 4550, 'EUR', 'Brewing', at(0)),
      order('dan', 'd-1', 480, 48_000, 'USD', 'Coffee', at(0)),
    ],
  },
  {
    at: at(0, 1),
    events: [
      // The same order id sent again (another messageId): counted once.
      order('ken', 'k-1', 3200, 3200, 'JPY', 'Coffee', at(0, 1)),
      // A partial refund: $480 becomes $450.
      track('dan', 'Order Refunded', { order_id: 'd-1', total: 30, currency: 'USD' }, at(0, 1)),
    ],
  },
  { at: at(1), events: [order('ken', 'k-2', 50_000, 50_000, 'JPY', 'Coffee', at(1)), order('eva', 'e-2', 30, 3000, 'EUR', 'Brewing', at(1))] },
  // Cancelled: neither order counts any more.
  { at: at(1, 1), events: [track('ken', 'Order Cancelled', { order_id: 'k-2' }, at(1, 1)), track('eva', 'Order Cancelled', { order_id: 'e-2' }, at(1, 1))] },
  {
    at: at(2),
    events: [
      // ¥3,200 + ¥80,000 passes ¥75,000 (with the cancelled ¥50,000 or the repeat it would have been more).
      order('ken', 'k-3', 80_000, 80_000, 'JPY', 'Coffee', at(2)),
      // €45.50 + €420 passes €450.
      order('eva', 'e-3', 420, 42_000, 'EUR', 'Brewing', at(2)),
      // $450 + $60 passes $500.
      order('dan', 'd-2', 60, 6000, 'USD', 'Coffee', at(2)),
    ],
  },
  // After ken's cross-sell (due 14 March, 10:00 in Tokyo): an order within its goal window, sent twice, then partly refunded.
  { at: at(13), events: [order('ken', 'k-4', 5000, 5000, 'JPY', 'Coffee', at(13)), order('ken', 'k-4', 5000, 5000, 'JPY', 'Coffee', at(13, 1))] },
  { at: at(14), events: [track('ken', 'Order Refunded', { order_id: 'k-4', total: 1000, currency: 'JPY' }, at(14))] },
];

let infra: TestInfra;
let runtime: Runtime;
let shipped: CampaignSet;
let clock: SimulatedClock;
let scheduler: Scheduler;
let producer: Producer;
let requested: Awaited<ReturnType<typeof collectTopic>>;

/** Publishes with the Kafka timestamp at the event's own time, so no event looks historical whatever today is. */
async function publishAt(events: LifecycleEvent[]): Promise<void> {
  await producer.send({
    topic: topicName(infra.prefix, 'lifecycleEvents'),
    messages: events.map((e) => ({ key: e.customerId, value: JSON.stringify(e), timestamp: String(Date.parse(e.occurredAt)) })),
  });
  await eventually(async () => {
    const { rows } = await runtime.pool.query<{ n: string }>('SELECT count(*) AS n FROM scheduler.processed_events WHERE event_id = ANY($1)', [events.map((e) => e.id)]);
    expect(Number(rows[0]?.n)).toBe(events.length);
  });
}

async function setClock(now: Date): Promise<void> {
  const res = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: now.toISOString() } });
  expect(res.statusCode).toBe(200);
}

/** Moves the clock from one instant that matters (a step, a job's due time) to the next. */
async function run(): Promise<void> {
  let next = 0;
  for (let i = 0; i < 200; i++) {
    const { rows } = await runtime.pool.query<{ due: Date | null }>("SELECT min(due_at) AS due FROM scheduler.jobs WHERE status = 'pending'");
    const candidates = [steps[next]?.at, rows[0]?.due ?? undefined].filter((d): d is Date => d !== undefined && d.getTime() <= END.getTime());
    if (candidates.length === 0) break;
    const now = new Date(Math.max(clock.now().getTime(), Math.min(...candidates.map((d) => d.getTime()))));
    await setClock(now);
    while (steps[next] !== undefined && (steps[next]?.at.getTime() ?? Infinity) <= now.getTime()) {
      const step = steps[next++];
      if (step !== undefined) await publishAt(step.events);
      await scheduler.runner.runDue();
    }
  }
  await setClock(END);
}

const sent = () => requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value)));
const of = (customer: string, campaign: string) => sent().filter((m) => m.customerId === customer && m.payload.campaignId === campaign);

async function rendered(customer: string): Promise<{ campaignId: string; text: string; html: string; subject: string }[]> {
  const catalog = createTemplateCatalog({ dir: join(import.meta.dirname, '..', '..', '..', 'templates'), engineOptions: { strict: true } });
  const out = [];
  for (const m of sent().filter((x) => x.customerId === customer)) {
    const lookup = await catalog.get(m.payload.templateId);
    if (!lookup.ok) throw new Error(lookup.error);
    const data = m.payload.category === 'marketing' ? { ...m.payload.data, unsubscribeUrl: 'https://mail.example.com/u?token=t' } : m.payload.data;
    const result = lookup.template.compiled.render(data, { locale: m.payload.locale, timeZone: m.payload.timeZone, campaignId: m.payload.campaignId });
    if (!result.ok) throw new Error(`${m.payload.templateId} for ${customer}: ${result.error}`);
    out.push({ campaignId: m.payload.campaignId, ...result.content });
  }
  return out;
}

/** Every amount in a text written with the currency's sign, as numbers (`￥83,200` → 83200, `45,50 €` → 45.5). */
function amounts(text: string, currency: 'JPY' | 'EUR' | 'USD'): number[] {
  const patterns = { JPY: /[¥￥]\s?([\d,]+)/g, USD: /\$([\d,]+\.\d{2})/g, EUR: /([\d.]+,\d{2})\s€/g };
  return [...text.matchAll(patterns[currency])].map((m) => Number((m[1] ?? '').replace(currency === 'EUR' ? /\./g : /,/g, '').replace(',', '.')));
}

const otherSigns = { JPY: /\$|€/, EUR: /\$|[¥￥]/, USD: /€|[¥￥]/ };

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  shipped = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
  clock = simulatedClock(at(0, -1));
  scheduler = await startScheduler({ runtime, campaigns: [...shipped.campaigns.filter((c) => c.id !== 'cross-sell'), crossSell, yenMilestone, euroMilestone], settings: shipped.settings, clock, simulated: clock, pollMs: 60_000 });
  producer = await connectedProducer(infra);
  requested = await collectTopic(infra, 'messagesRequested');
  await run();
}, 180_000);

afterAll(async () => {
  await Promise.all([requested?.stop(), producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

describe('money across currencies, through the scheduler', () => {
  it('gives each customer the milestone of their own currency only, at spend net of refunds and cancellations, each order once', async () => {
    await eventually(() => expect(of('dan', 'loyalty-milestone')).toHaveLength(1));
    // ¥3,200 + ¥80,000: the repeat of k-1 counted once, the cancelled k-2 not at all.
    expect(of('ken', 'loyalty-milestone-jpy').map((m) => m.payload.data['milestone'])).toEqual([{ lifetimeSpend: 83_200, threshold: 75_000, currency: 'JPY' }]);
    expect(of('eva', 'loyalty-milestone-eur').map((m) => m.payload.data['milestone'])).toEqual([{ lifetimeSpend: 465.5, threshold: 450, currency: 'EUR' }]);
    // $480 − $30 refunded + $60.
    expect(of('dan', 'loyalty-milestone').map((m) => m.payload.data['milestone'])).toEqual([{ lifetimeSpend: 510, threshold: 500, currency: 'USD' }]);
    // The dollar milestone never sees yen or euros, and the others never see dollars.
    for (const [customer, others] of [['ken', ['loyalty-milestone', 'loyalty-milestone-eur']], ['eva', ['loyalty-milestone', 'loyalty-milestone-jpy']], ['dan', ['loyalty-milestone-jpy', 'loyalty-milestone-eur']]] as const) {
      for (const campaign of others) expect(of(customer, campaign), `${customer} ${campaign}`).toEqual([]);
    }
  });

  it('offers cross-sell items only at prices in the order’s currency', () => {
    const [ken] = of('ken', 'cross-sell');
    expect(ken?.payload.data['order']).toMatchObject({ orderId: 'k-3', total: 80_000, currency: 'JPY' });
    expect(ken?.payload.data['recommendations']).toEqual([
      expect.objectContaining({ sku: 'DRIP-CER-01', price: 4800, currency: 'JPY' }),
      expect.objectContaining({ sku: 'GRIND-HAND-01', price: 9800, currency: 'JPY' }),
      expect.objectContaining({ sku: 'FLIGHT-3', price: 4400, currency: 'JPY' }),
    ]);
    // Nothing in the Brewing list is priced in euros: only the euro-priced defaults.
    expect(of('eva', 'cross-sell')[0]?.payload.data['recommendations']).toEqual([
      expect.objectContaining({ sku: 'FLIGHT-3', price: 27, currency: 'EUR' }),
      expect.objectContaining({ sku: 'MUG-STONE', price: 17, currency: 'EUR' }),
    ]);
  });

  it('renders the yen customer’s milestone and cross-sell mails with only yen amounts from yen data', async () => {
    const mails = await rendered('ken');
    const milestone = mails.find((m) => m.campaignId === 'loyalty-milestone-jpy');
    const crossSell = mails.find((m) => m.campaignId === 'cross-sell');
    expect(milestone?.text).toContain('￥75,000');
    expect(crossSell?.text).toContain('￥4,800');
    expect(crossSell?.text).toContain('￥4,400');
    expect(crossSell?.html).toContain('￥9,800');
    const yenFromData = new Set([3200, 50_000, 80_000, 5000, 75_000, 2200, 900, 7400, 4800, 9800, 4400, 2700]);
    for (const mail of [milestone, crossSell]) {
      expect(mail).toBeDefined();
      for (const part of [mail?.subject ?? '', mail?.text ?? '', mail?.html ?? '']) {
        expect(part).not.toMatch(otherSigns.JPY);
        for (const amount of amounts(part, 'JPY')) expect(yenFromData, `${mail?.campaignId}: ￥${amount}`).toContain(amount);
      }
    }
  });

  it('renders every mail of the euro and dollar customers in their own currency only', async () => {
    const cases = [
      { customer: 'eva', currency: 'EUR' as const, fromData: [45.5, 30, 420, 450, 27, 17], expected: ['45,50\u00a0€', '450,00\u00a0€', '27,00\u00a0€'] },
      { customer: 'dan', currency: 'USD' as const, fromData: [480, 60, 500, 32, 65, 29, 18, 14.5, 5.95, 49], expected: ['$480.00', '$500.00', '$29.00'] },
    ];
    for (const { customer, currency, fromData, expected } of cases) {
      const mails = await rendered(customer);
      expect(mails.map((m) => m.campaignId).sort(), customer).toEqual(expect.arrayContaining(['cross-sell', 'post-purchase-thank-you']));
      const all = mails.map((m) => `${m.subject}\n${m.text}\n${m.html}`).join('\n');
      expect(all, customer).not.toMatch(otherSigns[currency]);
      for (const amount of amounts(all, currency)) expect(fromData, `${customer}: ${amount} ${currency}`).toContain(amount);
      for (const text of expected) expect(all, customer).toContain(text);
    }
  });

  it('attributes an order sent twice to the cross-sell once, at its value net of the refund, in its currency', async () => {
    const stats = (await scheduler.app.inject({ url: '/campaigns/cross-sell/stats' })).json();
    expect(stats).toMatchObject({ conversions: 1, revenue: { JPY: 4000 } });
    expect(Object.keys(stats.revenue)).toEqual(['JPY']);
  });
});
