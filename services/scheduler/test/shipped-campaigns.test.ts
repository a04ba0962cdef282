import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRequested, TemplateCampaign, templateDataSchema, type ConsentChanged, type LifecycleEvent, type StageChanged, type Stage } from '@lifecycle/contracts';
import { createLogger, openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { assertNoPersonalData } from '@lifecycle/tools/log-privacy';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
// The messaging service's own catalog, in strict mode: a variable missing from the data fails.
import { createTemplateCatalog } from '@lifecycle/messaging/templates';
import { loadCampaigns, type CampaignSet } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock, type SimulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * The campaigns the repo ships (campaigns/*.yaml with its _settings.yaml), on the real broker and
 * database, driven by the simulated clock through a year: every customer's messages are listed
 * with the instant they were requested.
 */

const S = new Date('2027-01-04T14:00:00.000Z'); // Monday, 09:00 in New York (the store's zone)
const END = new Date('2028-01-06T00:00:00.000Z');
const minutes = (n: number) => new Date(S.getTime() + n * 60_000);
const days = (n: number, hhmmZ = '14:00') => new Date(`${new Date(S.getTime() + n * 86_400_000).toISOString().slice(0, 10)}T${hhmmZ}:00.000Z`);

let infra: TestInfra;
let runtime: Runtime;
let shipped: CampaignSet;
let clock: SimulatedClock;
let scheduler: Scheduler;
let producer: Producer;
let requested: Awaited<ReturnType<typeof collectTopic>>;
const logOutput: string[] = [];

type EventInput = { topic: 'lifecycleEvents'; value: LifecycleEvent };
type Input = EventInput | { topic: 'stageChanges'; value: StageChanged } | { topic: 'consentChanges'; value: ConsentChanged };
interface Action {
  at: Date;
  inputs: Input[];
}

let seq = 0;
function track(customerId: string, event: string, properties: Record<string, unknown>, at: Date): EventInput {
  const id = `ev-${++seq}-${customerId}`;
  return {
    topic: 'lifecycleEvents',
    value: {
      id,
      type: 'commerce.event',
      version: 1,
      occurredAt: at.toISOString(),
      customerId,
      causationId: id,
      payload: { call: { type: 'track', messageId: id, timestamp: at.toISOString(), userId: customerId, event, properties } },
    },
  };
}

/** A name nothing else in the run contains (ids appear in logs by design; names must not). */
const firstNameOf = (customerId: string): string => `Ann${customerId.charAt(0).toUpperCase()}${customerId.slice(1)}`;
/** Everyone the run has identified, for the log check. */
const identified = new Set<string>();

function identify(customerId: string, traits: { timezone?: string; birthday?: string }, at: Date): EventInput {
  identified.add(customerId);
  const id = `ev-${++seq}-${customerId}`;
  return {
    topic: 'lifecycleEvents',
    value: {
      id,
      type: 'commerce.event',
      version: 1,
      occurredAt: at.toISOString(),
      customerId,
      causationId: id,
      payload: {
        call: {
          type: 'identify',
          messageId: id,
          timestamp: at.toISOString(),
          userId: customerId,
          traits: { email: `${customerId}@example.com`, first_name: firstNameOf(customerId), ...(traits.timezone ? { timezone: traits.timezone } : {}) },
          normalized: { timestampOffset: 'Z', traits: traits },
        },
      },
    },
  };
}

function stage(customerId: string, from: Stage, to: Stage, at: Date, historical = false): Input {
  const id = `stage-${++seq}-${customerId}`;
  return {
    topic: 'stageChanges',
    value: { id, type: 'stage.changed', version: 1, occurredAt: at.toISOString(), customerId, causationId: id, payload: { from, to, reason: 'test', eventId: id, historical } },
  };
}

/** What consent's owner (messaging) publishes when someone uses the unsubscribe link of an earlier email. */
function unsubscribed(customerId: string, at: Date): Input {
  const id = `consent:${customerId}:1`;
  return {
    topic: 'consentChanges',
    value: {
      id,
      type: 'consent.changed',
      version: 1,
      occurredAt: at.toISOString(),
      customerId,
      causationId: `link-${++seq}`,
      payload: { state: 'unsubscribed', marketingAllowed: false, consentAt: at.toISOString(), source: 'unsubscribe-link', sequence: 1, previousState: null },
    },
  };
}

const product = (name: string, sku: string, price: number, category?: string) => ({ name, sku, price, quantity: 1, ...(category ? { category } : {}) });

function order(customerId: string, orderId: string, total: number, products: object[], at: Date, extra: Record<string, unknown> = {}): Input {
  return track(customerId, 'Order Completed', { order_id: orderId, total, currency: 'USD', products, ...extra }, at);
}

const zones: Record<string, { timezone?: string; birthday?: string }> = {
  buyer: { timezone: 'America/New_York' },
  browser: { timezone: 'Europe/Berlin' },
  browser2: {},
  carter: { timezone: 'Asia/Tokyo' },
  quiet: {},
  returner: {},
  advocate: { timezone: 'Europe/Paris' },
  old: {},
  bday: { timezone: 'Europe/London', birthday: '1992-02-29' },
  spender: {},
  capped: {},
  importer: {},
  optout: {},
  nightowl: { timezone: 'Asia/Tokyo' },
};

const actions: Action[] = [
  { at: minutes(-60), inputs: Object.entries(zones).map(([id, traits]) => identify(id, traits, minutes(-60))) },
  {
    at: S,
    inputs: [
      track('buyer', 'Checkout Started', { checkout_id: 'chk-1', total: 120, currency: 'USD' }, S),
      track('browser', 'Product Viewed', { product_id: 'p-grinder', name: 'Burr Hand Grinder', price: 65, currency: 'EUR' }, S),
      track('browser2', 'Product Viewed', { product_id: 'p-mug', name: 'Stoneware Mug', price: 20, currency: 'USD' }, S),
      track('carter', 'Checkout Started', { checkout_id: 'chk-9', total: 60, currency: 'USD' }, S),
      stage('quiet', 'retention', 'at_risk', S),
      stage('returner', 'retention', 'at_risk', S),
      stage('advocate', 'retention', 'advocacy', S),
      stage('old', 'retention', 'at_risk', S, true),
      stage('capped', 'retention', 'at_risk', S),
      track('capped', 'Checkout Started', { checkout_id: 'chk-c1', total: 20, currency: 'USD' }, S),
      track('capped', 'Product Viewed', { product_id: 'p-mug', name: 'Stoneware Mug', price: 20, currency: 'USD' }, S),
      track('optout', 'Product Viewed', { product_id: 'p-mug', name: 'Stoneware Mug', price: 20, currency: 'USD' }, S),
      // An order imported from another system, placed long before it reached Kafka: history.
      order('importer', 'o-imp', 80, [product('Stoneware Mug', 'MUG-STONE', 80)], new Date('2026-01-10T15:00:00.000Z')),
    ],
  },
  {
    at: minutes(10),
    inputs: [order('buyer', 'o-1', 120, [product('Ceramic Pour-Over Dripper', 'DRIP-CER-01', 32, 'Brewing'), product('Gooseneck Kettle 1 l', 'KETTLE-GN-1', 88, 'Brewing')], minutes(10), { checkout_id: 'chk-1' })],
  },
  { at: minutes(20), inputs: [order('carter', 'o-c1', 40, [product('Stoneware Mug', 'MUG-STONE', 40)], minutes(20), { checkout_id: 'chk-other' })] },
  { at: minutes(30), inputs: [order('returner', 'o-r1', 30, [product('Stoneware Mug', 'MUG-STONE', 30)], minutes(30))] },
  {
    at: minutes(60),
    inputs: [
      track('browser', 'Product Viewed', { product_id: 'p-filter', name: 'Filters', price: 5, currency: 'EUR' }, minutes(60)),
      track('browser2', 'Product Added', { product_id: 'p-mug', name: 'Stoneware Mug', price: 20 }, minutes(60)),
      unsubscribed('optout', minutes(60)),
    ],
  },
  { at: minutes(120), inputs: [track('browser', 'Product Viewed', { product_id: 'p-kettle', name: 'Gooseneck Kettle', price: 30, currency: 'EUR' }, minutes(120))] },
  { at: days(1), inputs: [order('spender', 'o-s1', 300, [product('Espresso Machine', 'ESP-1', 300)], days(1))] },
  {
    at: days(2),
    inputs: [order('spender', 'o-s2', 250, [product('Grinder Pro', 'GRIND-PRO', 250)], days(2)), track('capped', 'Checkout Started', { checkout_id: 'chk-c2', total: 20, currency: 'USD' }, days(2))],
  },
  { at: days(3), inputs: [order('spender', 'o-s3', 100, [product('Beans', 'BEANS', 100)], days(3)), track('buyer', 'Order Delivered', { order_id: 'o-1' }, days(3))] },
  { at: days(12, '17:00'), inputs: [order('buyer', 'o-2', 45, [product('Burr Hand Grinder', 'GRIND-HAND-01', 45, 'Coffee')], days(12, '17:00'))] },
  // At risk at 22:30 in Tokyo: the win-back's 10:00 has passed, so it is due at once, inside
  // quiet hours, and goes when they end, 09:00 there the next morning (00:00 UTC).
  { at: days(20, '13:30'), inputs: [stage('nightowl', 'retention', 'at_risk', days(20, '13:30'))] },
  { at: days(60), inputs: [stage('quiet', 'at_risk', 'lapsed', days(60))] },
];

/** Every message the timeline requests: customer, campaign, the instant it was requested. */
const expected = [
  ['advocate', 'referral-invitation', '2027-01-05T10:00:00.000Z'], // next day, 11:00 in Paris
  ['bday', 'birthday', '2027-02-28T09:00:00.000Z'], // 29 February birthday, 09:00 in London
  ['browser', 'browse-abandonment', '2027-01-04T18:00:00.000Z'], // 4 h later; the cheap view and a second view do not count
  ['buyer', 'cross-sell', '2027-01-14T15:00:00.000Z'],
  ['buyer', 'cross-sell', '2027-01-26T15:00:00.000Z'],
  ['buyer', 'first-order-anniversary', '2028-01-04T15:00:00.000Z'],
  ['buyer', 'nps-survey', '2027-01-21T16:00:00.000Z'],
  ['buyer', 'onboarding-tips', '2027-01-08T15:00:00.000Z'],
  ['buyer', 'post-purchase-thank-you', '2027-01-04T14:10:00.000Z'],
  ['buyer', 'post-purchase-thank-you', '2027-01-16T17:00:00.000Z'],
  ['buyer', 'review-request', '2027-01-14T15:00:00.000Z'],
  ['capped', 'browse-abandonment', '2027-01-04T18:00:00.000Z'],
  ['capped', 'cart-abandonment', '2027-01-04T15:00:00.000Z'],
  ['capped', 'win-back-at-risk', '2027-01-04T15:00:00.000Z'],
  ['carter', 'cart-abandonment', '2027-01-05T00:00:00.000Z'], // due at midnight in Tokyo: sent at 09:00 there
  ['carter', 'cross-sell', '2027-01-14T01:00:00.000Z'],
  ['carter', 'first-order-anniversary', '2028-01-04T01:00:00.000Z'],
  ['carter', 'post-purchase-thank-you', '2027-01-04T14:20:00.000Z'],
  ['nightowl', 'win-back-at-risk', '2027-01-25T00:00:00.000Z'], // at risk at 22:30 in Tokyo: sent at 09:00 there
  ['importer', 'first-order-anniversary', '2027-01-10T15:00:00.000Z'], // from history: no thank-you, but the date counts
  ['quiet', 'win-back-at-risk', '2027-01-04T15:00:00.000Z'],
  ['quiet', 'win-back-lapsed', '2027-03-05T15:00:00.000Z'],
  ['returner', 'cross-sell', '2027-01-14T15:00:00.000Z'],
  ['returner', 'first-order-anniversary', '2028-01-04T15:00:00.000Z'],
  ['returner', 'post-purchase-thank-you', '2027-01-04T14:30:00.000Z'],
  ['spender', 'cross-sell', '2027-01-17T15:00:00.000Z'],
  ['spender', 'first-order-anniversary', '2028-01-05T15:00:00.000Z'],
  ['spender', 'loyalty-milestone', '2027-01-06T16:00:00.000Z'],
  ['spender', 'post-purchase-thank-you', '2027-01-05T14:00:00.000Z'],
  ['spender', 'post-purchase-thank-you', '2027-01-06T14:00:00.000Z'],
  ['spender', 'post-purchase-thank-you', '2027-01-07T14:00:00.000Z'],
];

const bySortKey = (rows: string[][]): string[][] => [...rows].sort((a, b) => a.join().localeCompare(b.join()));

async function setClock(now: Date): Promise<void> {
  const res = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: now.toISOString() } });
  expect(res.statusCode).toBe(200);
}

async function processed(ids: string[]): Promise<void> {
  await eventually(async () => {
    const { rows } = await runtime.pool.query<{ n: string }>('SELECT count(*) AS n FROM scheduler.processed_events WHERE event_id = ANY($1)', [ids]);
    expect(Number(rows[0]?.n)).toBe(ids.length);
  });
}

/** Moves the clock from one instant that matters (an input, a job's due time) to the next. */
async function runTimeline(timeline: Action[], end: Date): Promise<void> {
  let next = 0;
  for (let step = 0; step < 1_000; step++) {
    const { rows } = await runtime.pool.query<{ due: Date | null }>("SELECT min(due_at) AS due FROM scheduler.jobs WHERE status = 'pending'");
    const candidates = [timeline[next]?.at, rows[0]?.due ?? undefined].filter((d): d is Date => d !== undefined && d.getTime() <= end.getTime());
    if (candidates.length === 0) break;
    const at = new Date(Math.max(clock.now().getTime(), Math.min(...candidates.map((d) => d.getTime()))));
    await setClock(at);
    while (timeline[next] !== undefined && (timeline[next]?.at.getTime() ?? Infinity) <= at.getTime()) {
      const action = timeline[next++];
      if (action === undefined) break;
      for (const input of action.inputs) {
        // Each input arrives at the simulated instant it is published, not at the real date.
        if (input.topic === 'lifecycleEvents') await publish(producer, infra.prefix, 'lifecycleEvents', [input.value], { at });
        else if (input.topic === 'stageChanges') await publish(producer, infra.prefix, 'stageChanges', [input.value], { at });
        else await publish(producer, infra.prefix, 'consentChanges', [input.value], { at });
      }
      await processed(action.inputs.map((i) => i.value.id));
      await scheduler.runner.runDue();
    }
  }
  await setClock(end);
}

const sent = () => requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value)));
const stats = async (id: string) => (await scheduler.app.inject({ url: `/campaigns/${id}/stats` })).json();

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  // The service's own logger (serializers, redaction), at info, into memory for the personal-data check.
  const memory = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logOutput.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('scheduler', 'info', memory);
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger });
  shipped = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
  clock = simulatedClock(minutes(-90));
  scheduler = await startScheduler({ runtime, ...shipped, clock, simulated: clock, pollMs: 60_000 });
  producer = await connectedProducer(infra);
  requested = await collectTopic(infra, 'messagesRequested');
  await runTimeline(actions, END);
}, 180_000);

afterAll(async () => {
  await Promise.all([requested?.stop(), producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

/** A request's data as messaging renders it: with the code it hands out for the campaign's offer. */
function withOffer(m: MessageRequested): Record<string, unknown> {
  const { offer, data } = m.payload;
  if (offer === undefined) return data;
  const { pool: _pool, expiresInDays: _days, ...value } = offer;
  return { ...data, offer: { code: 'SAMPLE-0000000000', expiresAt: '2027-03-01T04:59:59.999Z', expiresOn: '2027-02-28', ...value } };
}

describe('the shipped campaigns through a year', () => {
  it('requests every message at its moment, and nothing else', async () => {
    await eventually(() => expect(requested.records.length).toBeGreaterThanOrEqual(expected.length));
    const got = sent()
      .map((m) => [m.customerId, m.payload.campaignId, m.occurredAt])
      .sort((a, b) => a.join().localeCompare(b.join()));
    expect(got).toEqual(bySortKey(expected));
  });

  it('gives each template the data it needs, snapshotted when due', () => {
    const find = (customer: string, campaign: string) => sent().filter((m) => m.customerId === customer && m.payload.campaignId === campaign);
    const [crossSell] = find('buyer', 'cross-sell');
    // Learned from the year's orders: nobody else bought a dripper or a kettle, so the store's
    // best sellers, in the order's currency, none of what the buyer has.
    expect(crossSell?.payload.data['recommendations']).toEqual([
      expect.objectContaining({ sku: 'MUG-STONE', currency: 'USD', reason: 'best_seller' }),
      expect.objectContaining({ sku: 'BEANS', currency: 'USD', reason: 'best_seller' }),
      expect.objectContaining({ sku: 'GRIND-PRO', currency: 'USD', reason: 'best_seller' }),
    ]);
    expect(crossSell?.payload).toMatchObject({ category: 'marketing', timeZone: 'America/New_York', recipient: { email: 'buyer@example.com' }, data: { customer: { id: 'buyer', firstName: firstNameOf('buyer') }, order: { orderId: 'o-1', total: 120 } } });
    // The delivery event names only the order; the lines come from the order as it was placed.
    expect(find('buyer', 'onboarding-tips')[0]?.payload.data['order']).toMatchObject({ orderId: 'o-1', products: [{ sku: 'DRIP-CER-01' }, { sku: 'KETTLE-GN-1' }] });
    // The offer names a coupon pool; messaging hands out the code (docs/offers.md §3).
    expect(find('importer', 'first-order-anniversary')[0]?.payload).toMatchObject({ data: { occasion: { kind: 'first_order_anniversary', date: '2027-01-10', years: 1 } }, offer: { pool: 'anniversary', expiresInDays: 30, percent: 10 } });
    expect(find('bday', 'birthday')[0]?.payload.data['occasion']).toEqual({ kind: 'birthday', date: '2027-02-28' });
    expect(find('spender', 'loyalty-milestone')[0]?.payload.data['milestone']).toEqual({ lifetimeSpend: 550, threshold: 500, currency: 'USD' });
    expect(find('quiet', 'win-back-lapsed')[0]?.payload).toMatchObject({ data: { stage: { from: 'at_risk', to: 'lapsed' } }, offer: { pool: 'last-chance', percent: 20 } });
    // The A/B variant picks the template, and the same customer always gets the same one.
    for (const m of sent().filter((x) => x.payload.campaignId === 'cart-abandonment')) {
      const { variant } = TemplateCampaign.parse(m.payload.data['campaign']);
      expect(m.payload.variant).toBe(variant);
      expect(m.payload.templateId).toBe(variant === 'gentle' ? 'cart-abandonment-reminder' : 'cart-abandonment');
    }
    // Every request carries a dedupe key made of campaign, customer and trigger.
    expect(new Set(sent().map((m) => m.payload.dedupeKey)).size).toBe(sent().length);
  });

  it('sends each template only the data its campaign promises (the contract messaging checks samples against)', () => {
    const byId = new Map(shipped.campaigns.map((c) => [c.id, c]));
    for (const m of sent()) {
      const campaign = byId.get(m.payload.campaignId);
      if (campaign === undefined) throw new Error(`no campaign ${m.payload.campaignId}`);
      expect(templateDataSchema(campaign).safeParse(withOffer(m)).error?.issues, `${m.payload.campaignId} for ${m.customerId}`).toBeUndefined();
    }
  });

  it('sends data that every template renders from in strict mode (no variable missing), in English and Japanese', async () => {
    const catalog = createTemplateCatalog({ dir: join(import.meta.dirname, '..', '..', '..', 'templates'), engineOptions: { strict: true } });
    const messages = sent();
    expect(new Set(messages.map((m) => m.payload.templateId)).size).toBeGreaterThanOrEqual(12);
    for (const m of messages) {
      const lookup = await catalog.get(m.payload.templateId);
      if (!lookup.ok) throw new Error(lookup.error);
      const data = m.payload.category === 'marketing' ? { ...withOffer(m), unsubscribeUrl: 'https://mail.example.com/unsubscribe?token=t' } : withOffer(m);
      for (const locale of ['en', 'ja']) {
        const rendered = lookup.template.compiled.render(data, { locale, timeZone: m.payload.timeZone, campaignId: m.payload.campaignId });
        if (!rendered.ok) throw new Error(`${m.payload.templateId} [${locale}] for ${m.customerId}: ${rendered.error}`);
        const { subject, html, text } = rendered.content;
        expect(subject.length, `${m.payload.templateId} subject`).toBeGreaterThan(0);
        for (const part of [subject, html, text]) expect(part, `${m.payload.templateId} [${locale}] for ${m.customerId}`).not.toMatch(/undefined|NaN|\[object Object\]/);
      }
    }
  });

  it('counts sends, exits, skips by reason and attributed revenue per campaign', async () => {
    expect(await stats('cart-abandonment')).toMatchObject({ sent: 2, pending: 0, cancelled: { total: 1, byReason: { exit: 1 } }, skipped: { total: 1, byReason: { frequency_cap: 1 } } });
    expect(await stats('cross-sell')).toMatchObject({ sent: 5, skipped: { byReason: { condition: 2 } }, conversions: 1, revenue: { USD: 45 } });
    expect(await stats('win-back-at-risk')).toMatchObject({ sent: 3, cancelled: { byReason: { exit: 1 } } });
    // optout's nudge was planned, then they unsubscribed through an earlier email: skipped when due.
    expect(await stats('browse-abandonment')).toMatchObject({ sent: 2, cancelled: { byReason: { exit: 1 } }, skipped: { byReason: { unsubscribed: 1 } } });
    const list = (await scheduler.app.inject({ url: '/campaigns' })).json();
    expect(list.campaigns.find((c: { id: string }) => c.id === 'cross-sell')).toMatchObject({ sent: 5, skipped: 2, conversions: 1, revenue: { USD: 45 }, jobs: { sent: 5, skipped: 2 } });
    expect(await stats('loyalty-milestone')).toMatchObject({ sent: 1, pending: 0 });
    const missing = await scheduler.app.inject({ url: '/campaigns/no-such/stats' });
    expect(missing.statusCode).toBe(404);
  });

  it('skips a birthday message three weeks late after downtime, and plans next year’s', async () => {
    await publish(producer, infra.prefix, 'lifecycleEvents', [identify('late', { birthday: '1990-01-08', timezone: 'UTC' }, clock.now()).value], { at: clock.now() });
    await eventually(async () => {
      const { rows } = await runtime.pool.query("SELECT due_at FROM scheduler.jobs WHERE customer_id = 'late' AND status = 'pending'");
      expect(rows).toEqual([{ due_at: new Date('2028-01-08T09:00:00.000Z') }]);
    });
    const before = requested.records.length;
    await setClock(new Date('2028-01-29T09:00:00.000Z'));
    const { rows } = await runtime.pool.query("SELECT status, skip_reason, due_at FROM scheduler.jobs WHERE customer_id = 'late' ORDER BY due_at");
    expect(rows).toEqual([
      { status: 'skipped', skip_reason: 'stale', due_at: new Date('2028-01-08T09:00:00.000Z') },
      { status: 'pending', skip_reason: null, due_at: new Date('2029-01-08T09:00:00.000Z') },
    ]);
    expect(requested.records.filter((r) => r.key === 'late')).toHaveLength(0);
    expect(requested.records.length).toBe(before);
  });

  it('cancels the pending jobs of a campaign disabled in its file, on restart', async () => {
    await scheduler.stop();
    const edited = shipped.campaigns.map((c) => (c.id === 'birthday' ? { ...c, enabled: false } : c));
    scheduler = await startScheduler({ runtime, campaigns: edited, settings: shipped.settings, clock, simulated: clock, pollMs: 60_000 });
    const { rows } = await runtime.pool.query("SELECT customer_id, status, skip_reason FROM scheduler.jobs WHERE campaign_id = 'birthday' AND status IN ('pending', 'cancelled') ORDER BY customer_id");
    expect(rows).toEqual([
      { customer_id: 'bday', status: 'cancelled', skip_reason: 'campaign_disabled' },
      { customer_id: 'late', status: 'cancelled', skip_reason: 'campaign_disabled' },
    ]);
  });

  it('logs no customer address or name above debug through the whole year', () => {
    const customers = [...identified];
    expect(customers.length).toBeGreaterThan(10);
    const checked = assertNoPersonalData(logOutput, { emails: customers.map((c) => `${c}@example.com`), names: customers.map(firstNameOf) }, { minLines: 50 });
    // Every fired job is logged with its customer id: the lines checked are the year's.
    expect(logOutput.join('').match(/"msg":"message requested"/g)?.length ?? 0).toBeGreaterThanOrEqual(requested.records.length);
    expect(checked).toBeGreaterThan(50);
  });
});

describe('the same year walked a day at a time', () => {
  // A second scheduler on its own database and topics. The clock walks from midnight to
  // midnight (UTC): each day's inputs go in once the clock has walked past them, then what came
  // due that day fires, each job judged as of its due instant. The messages and their instants
  // must be the ones a clock stopping at every instant that matters gave above.
  let walkInfra: TestInfra;
  let walkRuntime: Runtime;
  let walker: Scheduler;
  let walkProducer: Producer;
  let walkRequested: Awaited<ReturnType<typeof collectTopic>>;
  let steps = 0;

  const post = async (url: string, payload?: object) => {
    const res = await walker.app.inject({ method: 'POST', url, ...(payload ? { payload } : {}) });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    walkInfra = await createTestInfra();
    const config = loadConfig({ ...serviceEnv(walkInfra), PORT: '0' });
    walkRuntime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
    const walkClock = simulatedClock(minutes(-90));
    // A runner that polls often: a held walk must stop it, not its slowness.
    walker = await startScheduler({ runtime: walkRuntime, ...shipped, clock: walkClock, simulated: walkClock, pollMs: 20 });
    walkProducer = await connectedProducer(walkInfra);
    walkRequested = await collectTopic(walkInfra, 'messagesRequested');
    let next = 0;
    for (let midnight = Date.parse(minutes(-90).toISOString().slice(0, 10)) + 86_400_000; midnight <= END.getTime(); midnight += 86_400_000) {
      const at = new Date(midnight);
      expect(await post('/admin/clock', { now: at.toISOString(), walk: true })).toMatchObject({ now: at.toISOString(), fired: 0 });
      const ids: string[] = [];
      for (; timelineAt(next) <= midnight; next++) {
        for (const input of actions[next]?.inputs ?? []) {
          ids.push(input.value.id);
          if (input.topic === 'lifecycleEvents') await publish(walkProducer, walkInfra.prefix, 'lifecycleEvents', [input.value], { at });
          else if (input.topic === 'stageChanges') await publish(walkProducer, walkInfra.prefix, 'stageChanges', [input.value], { at });
          else await publish(walkProducer, walkInfra.prefix, 'consentChanges', [input.value], { at });
        }
      }
      if (ids.length > 0) {
        await eventually(async () => {
          const { rows } = await walkRuntime.pool.query<{ n: string }>('SELECT count(*) AS n FROM scheduler.processed_events WHERE event_id = ANY($1)', [ids]);
          expect(Number(rows[0]?.n)).toBe(ids.length);
        });
        // Held: the poller (every 20 ms) fired nothing of the day while its inputs went in (exits cancel as they arrive).
        const { rows } = await walkRuntime.pool.query<{ n: string }>("SELECT count(*) AS n FROM scheduler.jobs WHERE status IN ('sent', 'skipped') AND fired_at > $1", [new Date(midnight - 86_400_000)]);
        expect(Number(rows[0]?.n)).toBe(0);
      }
      await post('/admin/clock/fire');
      // Fired means everything due by the walked instant, a job deferred to a send window that
      // opened by then included (the cart reminder due at midnight in Tokyo goes at 09:00 there).
      const { rows: left } = await walkRuntime.pool.query<{ n: string }>("SELECT count(*) AS n FROM scheduler.jobs WHERE status = 'pending' AND due_at <= $1", [at]);
      expect(Number(left[0]?.n), `pending jobs due by ${at.toISOString()} after firing`).toBe(0);
      steps++;
    }
  }, 180_000);

  const timelineAt = (i: number): number => actions[i]?.at.getTime() ?? Infinity;

  afterAll(async () => {
    await Promise.all([walkRequested?.stop(), walkProducer?.disconnect(), walker?.stop()]);
    await walkRuntime?.close();
  });

  it('requests the same messages at the same instants', async () => {
    expect(steps).toBeGreaterThan(360);
    await eventually(() => expect(walkRequested.records.length).toBeGreaterThanOrEqual(expected.length));
    const got = walkRequested.records.map((r) => MessageRequested.parse(JSON.parse(r.value))).map((m) => [m.customerId, m.payload.campaignId, m.occurredAt]);
    expect(bySortKey(got)).toEqual(bySortKey(expected));
    // The jobs' own record says the same: fired as of the instant each came due.
    const { rows } = await walkRuntime.pool.query<{ customer_id: string; campaign_id: string; fired_at: Date }>("SELECT customer_id, campaign_id, fired_at FROM scheduler.jobs WHERE status = 'sent'");
    expect(bySortKey(rows.map((r) => [r.customer_id, r.campaign_id, r.fired_at.toISOString()]))).toEqual(bySortKey(expected));
  });
});
