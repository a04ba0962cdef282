import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRequested, type ConsentChanged, type LifecycleEvent, type MarketingPreferences, type MessageEvent } from '@lifecycle/contracts';
import { createLogger, openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, trackedEvent, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { Campaign, CampaignSettings } from '../src/domain/campaign.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { inCampaignHoldout, inGlobalControl } from '../src/domain/holdout.ts';
import { liftOf } from '../src/domain/lift.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * Issue 17, the scheduler's part, on a real broker and database: holdouts and their lift, the
 * programme's global control, the customer's preferences and double opt-in honoured when a job
 * comes due, and the sunset with its re-permission mail, on the simulated clock.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Relative to now: nothing here depends on the date the test runs.
const T0 = new Date(Math.floor(Date.now() / DAY) * DAY + 40 * DAY);

const offer = Campaign.parse({
  id: 'offer',
  name: 'Cart offer',
  template: 'cart-abandonment',
  category: 'marketing',
  topic: 'offers',
  holdout: { percent: 50 },
  trigger: { event: 'Checkout Started' },
  delay: 'PT1H',
  goal: { event: 'Order Completed', within: 'P7D' },
});
const news = Campaign.parse({ id: 'news', name: 'Viewed product', template: 'browse-abandonment', category: 'marketing', topic: 'product-news', trigger: { event: 'Product Viewed' }, delay: 'PT1H' });
const rePermission = Campaign.parse({ id: 're-permission', name: 'Still there?', template: 're-permission', category: 'marketing', trigger: { engagement: 'inactive' } });
const settings = CampaignSettings.parse({ storeTimeZone: 'UTC', globalControl: { percent: 10 }, sunset: { after: 'P30D', grace: 'P7D', campaign: 're-permission' } });

let infra: TestInfra;
let runtime: Runtime;
let scheduler: Scheduler;
let producer: Producer;
let requested: Awaited<ReturnType<typeof collectTopic>>;
const clock = simulatedClock(T0);
let seq = 0;

const requests = (): MessageRequested[] => requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value)));
const at = (ms: number): Date => new Date(clock.now().getTime() + ms);
const moveClock = async (to: Date): Promise<void> => {
  const res = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: to.toISOString() } });
  expect(res.statusCode).toBe(200);
};
const events = (list: LifecycleEvent[]): Promise<void> => publish(producer, infra.prefix, 'lifecycleEvents', list, { at: clock.now() });
const track = (customerId: string, event: string, properties: Record<string, unknown> = {}): LifecycleEvent => trackedEvent({ id: `ev-${++seq}`, customerId, event, properties, at: clock.now() });
/** The customer's jobs in the order they were planned (of one planning, by campaign id); without the re-permission mail's unless asked. */
const jobsOf = async (customerId: string, withRePermission = false): Promise<{ campaign_id: string; status: string; skip_reason: string | null }[]> =>
  (
    await runtime.pool.query("SELECT campaign_id, status, skip_reason FROM scheduler.jobs WHERE customer_id = $1 AND ($2 OR campaign_id <> 're-permission') ORDER BY created_at, campaign_id", [customerId, withRePermission])
  ).rows;
/** A customer id outside the global control and the offer's holdout: one who is mailed. */
const mailable = (base: string): string => {
  for (let i = 0; ; i++) {
    const id = `${base}-${i}`;
    if (!inGlobalControl(id, 10) && !inCampaignHoldout('offer', id, 50)) return id;
  }
};

function consent(customerId: string, sequence: number, state: ConsentChanged['payload']['state'], preferences?: Partial<MarketingPreferences>, source: ConsentChanged['payload']['source'] = 'email-subscribed-event'): ConsentChanged {
  const now = clock.now().toISOString();
  return {
    id: `consent:${customerId}:${sequence}`,
    type: 'consent.changed',
    version: 1,
    occurredAt: now,
    customerId,
    causationId: `consent-${++seq}`,
    payload: {
      state,
      marketingAllowed: state === 'subscribed',
      consentAt: now,
      source,
      sequence,
      previousState: null,
      preferences: { topicsOptedOut: [], frequency: 'any', at: null, ...preferences },
    },
  };
}

function opened(customerId: string, dedupeKey: string, campaignId: string): MessageEvent {
  return { id: `open:${dedupeKey}:${++seq}`, type: 'message.status', version: 1, occurredAt: clock.now().toISOString(), customerId, causationId: dedupeKey, payload: { dedupeKey, campaignId, status: 'opened' } };
}

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openRuntime({ service: 'scheduler', config: loadConfig({ ...serviceEnv(infra), PORT: '0' }), schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger: createLogger('scheduler', 'silent') });
  scheduler = await startScheduler({ runtime, campaigns: [offer, news, rePermission], settings, clock, simulated: clock, pollMs: 60_000 });
  producer = await connectedProducer(infra);
  requested = await collectTopic(infra, 'messagesRequested');
}, 60_000);

afterAll(async () => {
  await Promise.all([requested?.stop(), producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

describe('holdouts and lift', () => {
  const customers = Array.from({ length: 120 }, (_, i) => `shopper-${i}`);

  it('holds out the control groups, requests nothing for them, and measures both groups and the lift', async () => {
    await events(customers.map((c) => track(c, 'Checkout Started', { checkout_id: `co-${c}` })));
    await eventually(async () => expect((await runtime.pool.query("SELECT count(*)::int AS n FROM scheduler.jobs WHERE campaign_id = 'offer'")).rows[0].n).toBe(customers.length));
    await moveClock(at(HOUR + 60_000));

    const control = customers.filter((c) => inGlobalControl(c, 10));
    const holdout = customers.filter((c) => !control.includes(c) && inCampaignHoldout('offer', c, 50));
    const mailed = customers.filter((c) => !control.includes(c) && !holdout.includes(c));
    expect(control.length).toBeGreaterThan(0);
    expect(holdout.length).toBeGreaterThan(20);
    const { rows } = await runtime.pool.query("SELECT customer_id, status, skip_reason FROM scheduler.jobs WHERE campaign_id = 'offer'");
    const byCustomer = new Map(rows.map((r) => [r.customer_id, `${r.status}/${r.skip_reason ?? ''}`]));
    for (const c of control) expect([c, byCustomer.get(c)]).toEqual([c, 'held_out/global_control']);
    for (const c of holdout) expect([c, byCustomer.get(c)]).toEqual([c, 'held_out/holdout']);
    for (const c of mailed) expect([c, byCustomer.get(c)]).toEqual([c, 'sent/']);
    // Only the mailed were requested from messaging, with the campaign's topic.
    const offers = await eventually(() => {
      const found = requests().filter((r) => r.payload.campaignId === 'offer');
      expect(found).toHaveLength(mailed.length);
      return found;
    });
    expect(new Set(offers.map((r) => r.customerId))).toEqual(new Set(mailed));
    expect(offers.every((r) => r.payload.topic === 'offers')).toBe(true);

    // Every other mailed customer orders, and every third held-out one: both groups' conversions count.
    const buyers = [...mailed.filter((_, i) => i % 2 === 0), ...[...control, ...holdout].filter((_, i) => i % 3 === 0)];
    await moveClock(at(HOUR));
    await events(buyers.map((c) => track(c, 'Order Completed', { order_id: `o-${c}`, total: 40, currency: 'USD', products: [{ name: 'Kettle', price: 40, quantity: 1 }] })));
    await eventually(async () => expect((await runtime.pool.query("SELECT count(*)::int AS n FROM scheduler.conversions WHERE campaign_id = 'offer'")).rows[0].n).toBe(buyers.length));
    const groups = await runtime.pool.query(`SELECT "group", count(*)::int AS n FROM scheduler.conversions GROUP BY 1 ORDER BY 1`);
    const controlBuyers = buyers.filter((c) => control.includes(c)).length;
    const holdoutBuyers = buyers.filter((c) => holdout.includes(c)).length;
    const mailedBuyers = buyers.length - controlBuyers - holdoutBuyers;
    expect(controlBuyers).toBeGreaterThan(0);
    expect(groups.rows).toEqual([
      { group: 'global_control', n: controlBuyers },
      { group: 'held_out', n: holdoutBuyers },
      { group: 'mailed', n: mailedBuyers },
    ]);

    // The campaign's lift is against its own holdout: the global control, which gets no marketing
    // at all, is the programme's measure and stays out of it.
    const stats = (await scheduler.app.inject({ url: '/campaigns/offer/stats' })).json();
    expect(stats).toMatchObject({ sent: mailed.length, jobs: { sent: mailed.length, held_out: control.length + holdout.length }, conversions: mailedBuyers, revenue: { USD: 40 * mailedBuyers } });
    expect(stats.holdout).toEqual({
      percent: 50,
      mailed: { customers: mailed.length, converted: mailedBuyers, conversionRate: expect.closeTo(mailedBuyers / mailed.length, 5), revenuePerCustomer: { USD: Math.round((40 * mailedBuyers * 100) / mailed.length) / 100 } },
      heldOut: { customers: holdout.length, converted: holdoutBuyers, conversionRate: expect.closeTo(holdoutBuyers / holdout.length, 5), revenuePerCustomer: { USD: Math.round((40 * holdoutBuyers * 100) / holdout.length) / 100 } },
      lift: liftOf({ customers: mailed.length, converted: mailedBuyers }, { customers: holdout.length, converted: holdoutBuyers }),
    });
    expect(stats.holdout.lift.absolute).toBeGreaterThan(0);
    const listed = (await scheduler.app.inject({ url: '/campaigns' })).json().campaigns.find((c: { id: string }) => c.id === 'offer');
    expect(listed.holdout).toEqual(stats.holdout);

    // The programme: everyone mailed any marketing against the global control.
    const programme = (await scheduler.app.inject({ url: '/programme/stats' })).json();
    expect(programme).toMatchObject({
      globalControlPercent: 10,
      mailed: { customers: mailed.length, converted: mailedBuyers },
      control: { customers: control.length, converted: controlBuyers },
    });
    expect(programme.lift).toEqual(liftOf({ customers: mailed.length, converted: mailedBuyers }, { customers: control.length, converted: controlBuyers }));
  });
});

describe('preferences and double opt-in, honoured when a job comes due', () => {
  it('skips a topic the customer left while another topic still sends, skips the unconfirmed, and keeps a weekly customer to one a week', async () => {
    const leaver = mailable('leaver');
    const pending = mailable('pending');
    const weekly = mailable('weekly');
    await publish(producer, infra.prefix, 'consentChanges', [consent(leaver, 1, 'subscribed', { topicsOptedOut: ['offers'] }), consent(pending, 1, 'unconfirmed'), consent(weekly, 1, 'subscribed', { frequency: 'weekly' })], { at: clock.now() });
    await eventually(async () => {
      const body = (await scheduler.app.inject({ url: `/contacts/${weekly}` })).json();
      expect(body.preferences).toEqual({ topicsOptedOut: [], frequency: 'weekly' });
      expect((await scheduler.app.inject({ url: `/contacts/${leaver}` })).json().preferences.topicsOptedOut).toEqual(['offers']);
      expect((await scheduler.app.inject({ url: `/contacts/${pending}` })).json().consent.state).toBe('unconfirmed');
    });

    await events([track(leaver, 'Checkout Started'), track(leaver, 'Product Viewed', { product_id: 'p-1', name: 'Kettle' }), track(pending, 'Checkout Started'), track(weekly, 'Product Viewed', { product_id: 'p-1', name: 'Kettle' })]);
    await eventually(async () => expect((await runtime.pool.query('SELECT count(*)::int AS n FROM scheduler.jobs WHERE customer_id = ANY($1)', [[leaver, pending, weekly]])).rows[0].n).toBe(4));
    await moveClock(at(HOUR + 60_000));
    expect(await jobsOf(leaver)).toEqual([
      { campaign_id: 'news', status: 'sent', skip_reason: null },
      { campaign_id: 'offer', status: 'skipped', skip_reason: 'topic_opt_out' },
    ]);
    expect(await jobsOf(pending)).toEqual([{ campaign_id: 'offer', status: 'skipped', skip_reason: 'unconfirmed' }]);
    const leaverNews = await eventually(() => {
      const found = requests().find((r) => r.customerId === leaver);
      expect(found).toBeDefined();
      return found;
    });
    expect(leaverNews?.payload).toMatchObject({ campaignId: 'news', topic: 'product-news' });

    // Two days after the weekly customer's mail: the next marketing mail waits for next week.
    await moveClock(at(2 * DAY));
    await events([track(weekly, 'Checkout Started')]);
    await eventually(async () => expect(await jobsOf(weekly)).toHaveLength(2));
    await moveClock(at(HOUR + 60_000));
    expect(await jobsOf(weekly)).toEqual([
      { campaign_id: 'news', status: 'sent', skip_reason: null },
      { campaign_id: 'offer', status: 'skipped', skip_reason: 'preference_frequency' },
    ]);
    const stats = (await scheduler.app.inject({ url: '/campaigns/offer/stats' })).json();
    expect(stats.skipped.byReason).toMatchObject({ topic_opt_out: 1, unconfirmed: 1, preference_frequency: 1 });

    // The customer confirms (a newer record): marketing goes again.
    await publish(producer, infra.prefix, 'consentChanges', [consent(pending, 2, 'subscribed', {}, 'double-opt-in')], { at: clock.now() });
    await eventually(async () => expect((await scheduler.app.inject({ url: `/contacts/${pending}` })).json().consent.state).toBe('subscribed'));
    await events([track(pending, 'Checkout Started')]);
    await eventually(async () => expect(await jobsOf(pending)).toHaveLength(2));
    await moveClock(at(HOUR + 60_000));
    expect((await jobsOf(pending))[1]).toEqual({ campaign_id: 'offer', status: 'sent', skip_reason: null });
  });
});

describe('sunset', () => {
  it('sends the re-permission mail to a customer who never engaged, stops marketing after the grace, and an open lifts it', async () => {
    const quiet = mailable('quiet');
    await events([track(quiet, 'Product Viewed', { product_id: 'p-2', name: 'Teapot' })]);
    await eventually(async () => expect(await jobsOf(quiet, true)).toHaveLength(1));
    await moveClock(at(HOUR));
    const sentAt = clock.now();
    // Never engaged: inactive 30 days after this first marketing mail.
    expect(await jobsOf(quiet, true)).toEqual([
      { campaign_id: 'news', status: 'sent', skip_reason: null },
      { campaign_id: 're-permission', status: 'pending', skip_reason: null },
    ]);

    await moveClock(new Date(sentAt.getTime() + 30 * DAY + 60_000));
    expect((await jobsOf(quiet, true))[1]).toEqual({ campaign_id: 're-permission', status: 'sent', skip_reason: null });
    const ask = await eventually(() => {
      const found = requests().find((r) => r.customerId === quiet && r.payload.campaignId === 're-permission');
      expect(found).toBeDefined();
      return found;
    });
    expect(ask?.payload).toMatchObject({ templateId: 're-permission', category: 'marketing' });
    expect(ask?.payload.topic).toBeUndefined();

    // No open or click within the grace: later marketing is skipped.
    await moveClock(at(7 * DAY + 60_000));
    const before = (await scheduler.app.inject({ url: '/sunset/stats' })).json();
    expect(before).toMatchObject({ enabled: true, after: 'P30D', grace: 'P7D', campaign: 're-permission', reengaged: 0 });
    expect(before.sunset).toBeGreaterThan(0);
    expect(before.rePermissionSent).toBeGreaterThan(0);
    await events([track(quiet, 'Product Viewed', { product_id: 'p-3', name: 'Cup' })]);
    await eventually(async () => expect(await jobsOf(quiet, true)).toHaveLength(3));
    await moveClock(at(HOUR + 60_000));
    expect((await jobsOf(quiet, true))[2]).toEqual({ campaign_id: 'news', status: 'skipped', skip_reason: 'sunset' });

    // An open (here of the re-permission mail, late) lifts it: marketing goes again.
    await publish(producer, infra.prefix, 'messageEvents', [opened(quiet, ask?.payload.dedupeKey ?? '', 're-permission')], { at: clock.now() });
    await eventually(async () => expect((await scheduler.app.inject({ url: `/contacts/${quiet}` })).json().engagement.sunsetAt).toBeNull());
    const after = (await scheduler.app.inject({ url: '/sunset/stats' })).json();
    expect(after).toMatchObject({ sunset: before.sunset - 1, reengaged: 1 });
    // The open starts a new spell: the next re-permission mail is due 30 days after it.
    await events([track(quiet, 'Product Viewed', { product_id: 'p-4', name: 'Saucer' })]);
    await eventually(async () => expect((await jobsOf(quiet, true)).filter((j) => j.status === 'pending')).toHaveLength(2));
    await moveClock(at(HOUR + 60_000));
    const jobs = await jobsOf(quiet, true);
    expect(jobs.filter((j) => j.campaign_id === 'news').map((j) => j.status)).toEqual(['sent', 'skipped', 'sent']);
    expect(jobs.filter((j) => j.campaign_id === 're-permission').map((j) => j.status)).toEqual(['sent', 'pending']);
  });

  it('takes a burst of opens for several customers together: each keeps its latest open and one re-permission job, moved after it', async () => {
    const readers = [mailable('reader-a'), mailable('reader-b'), mailable('reader-c')];
    await events(readers.map((c) => track(c, 'Product Viewed', { product_id: 'p-5', name: 'Tray' })));
    await eventually(async () => expect((await runtime.pool.query('SELECT count(*)::int AS n FROM scheduler.jobs WHERE customer_id = ANY($1)', [readers])).rows[0].n).toBe(readers.length));
    await moveClock(at(HOUR));
    const base = clock.now().getTime();
    // Opens an hour apart, published out of order in one go: the latest of each customer counts.
    const burst = readers.flatMap((c) =>
      [3, 1, 2].map((h) => ({ ...opened(c, `news:${c}`, 'news'), occurredAt: new Date(base + h * HOUR).toISOString() })),
    );
    await publish(producer, infra.prefix, 'messageEvents', burst, { at: clock.now() });
    for (const c of readers) {
      await eventually(async () => expect((await scheduler.app.inject({ url: `/contacts/${c}` })).json().engagement.lastEngagedAt).toBe(new Date(base + 3 * HOUR).toISOString()));
      const { rows } = await runtime.pool.query("SELECT trigger_at FROM scheduler.jobs WHERE customer_id = $1 AND campaign_id = 're-permission' AND status = 'pending'", [c]);
      // Inactive 30 days after the latest open, one job only.
      expect(rows.map((r) => r.trigger_at.toISOString())).toEqual([new Date(base + 3 * HOUR + 30 * DAY).toISOString()]);
    }
    // The same burst again (a redelivery) changes nothing.
    await publish(producer, infra.prefix, 'messageEvents', burst, { at: clock.now() });
    await new Promise((r) => setTimeout(r, 1_000));
    const { rows } = await runtime.pool.query("SELECT count(*)::int AS n FROM scheduler.jobs WHERE customer_id = ANY($1) AND campaign_id = 're-permission'", [readers]);
    expect(rows[0].n).toBe(readers.length);
  });
});
