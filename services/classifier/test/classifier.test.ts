import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StageChanged, TimerRequested, type ConsentChanged, type LifecycleEvent, type MessageEvent, type TimerFired } from '@lifecycle/contracts';
import { openRuntime, publish, runMigrations, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { resetClassifier } from '../src/rebuild.ts';
import { startClassifier, type Classifier } from '../src/service.ts';
import { loadThresholds } from '../src/thresholds-file.ts';

const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');

let infra: TestInfra;
let runtime: Runtime;
let service: Classifier;
let producer: Producer;
let changes: Awaited<ReturnType<typeof collectTopic>>;
let timerRequests: Awaited<ReturnType<typeof collectTopic>>;

const day = (n: number): string => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();

function track(id: string, customerId: string, event: string, at: string, properties: Record<string, unknown> = {}): LifecycleEvent {
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: id,
    payload: {
      call: { type: 'track', messageId: id, timestamp: at, userId: customerId, event, properties, context: { traits: { email: `${customerId}@example.com`, first_name: 'Kim' } } },
    },
  };
}

/** What consent's owner (messaging) publishes on `consent.changes`. */
function consentRecord(customerId: string, sequence: number, state: ConsentChanged['payload']['state'], at: string): ConsentChanged {
  return {
    id: `consent:${customerId}:${sequence}`,
    type: 'consent.changed',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: `cause-${sequence}`,
    payload: { state, marketingAllowed: state === 'subscribed', consentAt: at, source: 'unsubscribe-link', sequence, previousState: null },
  };
}

const order = (id: string, customerId: string, at: string) => track(id, customerId, 'Order Completed', at, { order_id: id, total: 20, currency: 'USD', products: [] });

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'classifier', config, schema: 'classifier', migrationsFolder });
  // The shipped thresholds: at_risk after 1.5 × the median gap, 60 days for one-order customers.
  service = await startClassifier(runtime, await loadThresholds(config.LIFECYCLE_CONFIG));
  producer = await connectedProducer(infra);
  changes = await collectTopic(infra, 'stageChanges');
  timerRequests = await collectTopic(infra, 'timersRequested');
});

afterAll(async () => {
  await Promise.all([changes?.stop(), timerRequests?.stop(), producer?.disconnect(), service?.stop()]);
  await runtime?.close();
});

const stageChangesOf = (customerId: string) =>
  changes.records.filter((r) => r.key === customerId).map((r) => {
    const { from, to, reason } = StageChanged.parse(JSON.parse(r.value)).payload;
    return `${from ?? 'new'} → ${to} (${reason})`;
  });

const latestTimerFor = (customerId: string) => timerRequests.records.filter((r) => r.key === customerId).map((r) => TimerRequested.parse(JSON.parse(r.value))).at(-1);

/** Plays the scheduler's part: the timer the classifier asked for fires at its time. */
async function fire(request: TimerRequested): Promise<void> {
  const fired: TimerFired = {
    id: `timer:${request.payload.timerId}@${request.payload.fireAt}`,
    type: 'timer.fired',
    version: 1,
    occurredAt: request.payload.fireAt,
    customerId: request.customerId,
    causationId: request.id,
    payload: { timerId: request.payload.timerId, owner: request.payload.owner, fireAt: request.payload.fireAt, data: request.payload.data },
  };
  await publish(producer, infra.prefix, 'timersFired', [fired, fired]);
}

describe('classifier on a real broker and database', () => {
  it('follows a customer from first view to advocacy, at_risk after silence, and back by a new order', async () => {
    const journey = [
      track('j-1', 'jo', 'Page Viewed', day(0)),
      track('j-2', 'jo', 'Product Viewed', day(0)),
      track('j-3', 'jo', 'Product Added', day(0)),
      order('j-4', 'jo', day(1)),
      order('j-5', 'jo', day(21)),
      track('j-6', 'jo', 'NPS Survey Answered', day(22), { score: 10 }),
    ];
    // Each event twice: a redelivery changes nothing.
    for (const event of journey) await publish(producer, infra.prefix, 'lifecycleEvents', [event, event]);
    await eventually(() =>
      expect(stageChangesOf('jo')).toEqual([
        'new → awareness (first_seen)',
        'awareness → consideration (shopping_intent)',
        'consideration → conversion (first_order)',
        'conversion → retention (repeat_order)',
        'retention → advocacy (promoter)',
      ]),
    );

    // Orders 20 days apart: the classifier asks to be woken 30 days after the last one.
    const timer = await eventually(() => {
      const latest = latestTimerFor('jo');
      expect(latest?.payload).toMatchObject({ timerId: 'classifier:silence:jo', owner: 'classifier', fireAt: day(51) });
      return latest!;
    });
    await fire(timer);
    await eventually(() => expect(stageChangesOf('jo').at(-1)).toBe('advocacy → at_risk (silent_past_expected_repurchase)'));
    await eventually(() => expect(latestTimerFor('jo')?.payload.fireAt).toBe(day(111)));

    await publish(producer, infra.prefix, 'lifecycleEvents', [order('j-7', 'jo', day(60))]);
    await eventually(() => expect(stageChangesOf('jo').at(-1)).toBe('at_risk → retention (reactivated)'));
    expect(stageChangesOf('jo')).toHaveLength(7);

    // Read at once: the stage change is published from the outbox after the commit, so whoever
    // sees it finds the profile that caused it.
    const response = await service.app.inject({ url: '/customers/jo' });
    expect(response.statusCode).toBe(200);
    // Each event once though delivered twice, oldest first; the fired timer is no event.
    expect(response.json().profile.recentEvents).toEqual([
      { eventId: 'j-1', type: 'Page Viewed', occurredAt: day(0) },
      { eventId: 'j-2', type: 'Product Viewed', occurredAt: day(0) },
      { eventId: 'j-3', type: 'Product Added', occurredAt: day(0) },
      { eventId: 'j-4', type: 'Order Completed', occurredAt: day(1) },
      { eventId: 'j-5', type: 'Order Completed', occurredAt: day(21) },
      { eventId: 'j-6', type: 'NPS Survey Answered', occurredAt: day(22) },
      { eventId: 'j-7', type: 'Order Completed', occurredAt: day(60) },
    ]);
    expect(response.json()).toMatchObject({
      profile: { stage: 'retention', orderCount: 3, email: 'jo@example.com', npsScore: 10, revenue: { USD: 60 }, averageOrderValue: { USD: 20 }, medianGapDays: 29.5 },
      history: [
        { from: null, to: 'awareness', eventId: 'j-1' },
        { to: 'consideration', eventId: 'j-2' },
        { to: 'conversion', eventId: 'j-4' },
        { to: 'retention', eventId: 'j-5' },
        { to: 'advocacy', eventId: 'j-6' },
        { to: 'at_risk', reason: 'silent_past_expected_repurchase', eventId: `timer:classifier:silence:jo@${day(51)}` },
        { from: 'at_risk', to: 'retention', reason: 'reactivated', eventId: 'j-7' },
      ],
    });
  });

  it('recomputes RFM scores and segments when its recurring timer fires, and asks for the next one', async () => {
    const rfmRequests = () => timerRequests.records.filter((r) => r.key === 'classifier:rfm').map((r) => TimerRequested.parse(JSON.parse(r.value)));
    const first = await eventually(() => {
      expect(rfmRequests()).toHaveLength(1);
      return rfmRequests()[0]!;
    });
    // Asked for a day after the later of event time and arrival, not a day into the imported past.
    expect(Date.parse(first.payload.fireAt)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    await fire(first);
    await eventually(async () => expect((await service.app.inject({ url: '/customers/jo' })).json().rfm).toMatchObject({ recency: 5, frequency: 5, monetary: 5, monetaryCurrency: 'USD', segment: 'champions' }));
    await eventually(() => expect(rfmRequests()).toHaveLength(2));
    expect(Date.parse(rfmRequests()[1]!.payload.fireAt) - Date.parse(first.payload.fireAt)).toBeGreaterThanOrEqual(24 * 3_600_000);
  });

  it('records opens and clicks from message events, and consent only from its owner’s records', async () => {
    const status = (id: string, s: MessageEvent['payload']['status'], at: string): MessageEvent => ({
      id,
      type: 'message.status',
      version: 1,
      occurredAt: at,
      customerId: 'jo',
      causationId: 'message:x',
      payload: { dedupeKey: 'x', campaignId: 'post-purchase-thank-you', status: s, providerTimestamp: at },
    });
    await publish(producer, infra.prefix, 'messageEvents', [
      status('s-1', 'opened', day(61)),
      status('s-2', 'clicked', day(62)),
      status('s-3', 'unsubscribed', day(63)),
      status('s-4', 'opened', day(61)),
    ]);
    await eventually(async () => expect((await service.app.inject({ url: '/customers/jo' })).json().profile).toMatchObject({ lastOpenAt: day(61), lastClickAt: day(62), stage: 'retention' }));
    // The provider's unsubscribe reached messaging, which owns consent: the profile waits for its record.
    expect((await service.app.inject({ url: '/customers/jo' })).json().profile).toMatchObject({ consent: null, subscribed: null });
    // Sequence 2 first, then 1 arriving late: the later record stands.
    await publish(producer, infra.prefix, 'consentChanges', [consentRecord('jo', 2, 'subscribed', day(64)), consentRecord('jo', 1, 'unsubscribed', day(63))]);
    await eventually(async () => {
      const { rows } = await runtime.pool.query("SELECT count(*)::int AS n FROM classifier.processed_events WHERE event_id IN ('consent:jo:1', 'consent:jo:2')");
      expect(rows).toEqual([{ n: 2 }]);
    });
    expect((await service.app.inject({ url: '/customers/jo' })).json().profile).toMatchObject({
      consent: { state: 'subscribed', marketingAllowed: true, changedAt: day(64), source: 'unsubscribe-link', sequence: 2 },
      subscribed: true,
      subscribedAt: day(64),
    });
  });

  it('merges browsing done before sign-up into the customer once ingestion links the ids', async () => {
    const identify: LifecycleEvent = {
      id: 'a-2',
      type: 'commerce.event',
      version: 1,
      occurredAt: day(3),
      customerId: 'u-7',
      causationId: 'a-2',
      payload: {
        call: { type: 'identify', messageId: 'a-2', timestamp: day(3), userId: 'u-7', anonymousId: 'anon-7', traits: { email: 'u7@example.com' }, normalized: { timestampOffset: 'Z', linked: { anonymousId: 'anon-7', userId: 'u-7' } } },
      },
    };
    await publish(producer, infra.prefix, 'lifecycleEvents', [track('a-1', 'anon-7', 'Product Viewed', day(2)), identify]);
    await eventually(async () => expect((await service.app.inject({ url: '/customers/u-7' })).json().profile).toMatchObject({ intentSignals: 1, email: 'u7@example.com', stage: 'consideration' }));
    // An event still under the anonymous id (sent before the link reached it) follows the link.
    await publish(producer, infra.prefix, 'lifecycleEvents', [track('a-3', 'anon-7', 'Product Added', day(4))]);
    await eventually(async () => expect((await service.app.inject({ url: '/customers/u-7' })).json().profile.intentSignals).toBe(2));
    expect((await service.app.inject({ url: '/customers/anon-7' })).statusCode).toBe(404);
    // The view and the identify sit on different partitions and either may come first; the
    // anonymous id never moves again once merged.
    expect(stageChangesOf('anon-7').length).toBeLessThanOrEqual(1);
  });

  it('moves a buyer back when their only order is refunded', async () => {
    await publish(producer, infra.prefix, 'lifecycleEvents', [
      order('r-1', 'ren', day(5)),
      track('r-2', 'ren', 'Order Refunded', day(6), { order_id: 'r-1' }),
    ]);
    await eventually(() => expect(stageChangesOf('ren')).toEqual(['new → conversion (first_order)', 'conversion → awareness (orders_refunded)']));
  });

  it('marks stage changes caused by long-past events as historical, and fresh ones not', async () => {
    await publish(producer, infra.prefix, 'lifecycleEvents', [order('h-1', 'hist', day(0)), order('f-1', 'fresh', new Date().toISOString())]);
    const historicalOf = (customerId: string) =>
      changes.records.filter((r) => r.key === customerId).map((r) => StageChanged.parse(JSON.parse(r.value)).payload.historical);
    await eventually(() => {
      expect(historicalOf('hist')).toEqual([true]);
      expect(historicalOf('fresh')).toEqual([false]);
    });
  });

  it('answers 404 for a customer it has never seen', async () => {
    const response = await service.app.inject({ url: '/customers/nobody' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'no customer with id nobody' });
  });

  it('counts customers per stage and lists them a page at a time', async () => {
    expect((await service.app.inject({ url: '/stages' })).json()).toEqual({
      stages: { awareness: 1, consideration: 1, conversion: 2, retention: 1, advocacy: 0, at_risk: 0, lapsed: 0 },
    });
    const first = (await service.app.inject({ url: '/customers?limit=3' })).json();
    expect(first.customers.map((c: { customerId: string }) => c.customerId)).toEqual(['fresh', 'hist', 'jo']);
    const second = (await service.app.inject({ url: `/customers?limit=3&cursor=${first.nextCursor}` })).json();
    expect(second).toMatchObject({ customers: [{ customerId: 'ren', stage: 'awareness' }, { customerId: 'u-7', stage: 'consideration' }], nextCursor: null });
    expect((await service.app.inject({ url: '/customers?stage=retention' })).json().customers).toMatchObject([{ customerId: 'jo', orderCount: 3 }]);
    const bad = await service.app.inject({ url: '/customers?stage=sleepy' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe('stage');
  });

  it('reports retention figures for a period', async () => {
    const response = await service.app.inject({ url: `/metrics/retention?from=${day(20)}&to=${day(90)}` });
    expect(response.json()).toEqual({
      from: day(20),
      to: day(90),
      // jo and hist had ordered before the period; only jo ordered again in it.
      customerRetentionRate: 0.5,
      churnRate: 0.5,
      repeatPurchaseRate: 0.5,
      byCurrency: { USD: { averageOrderValue: 20, historicCustomerLifetimeValue: 40, revenue: 40, orders: 2 } },
      nps: 100,
      stageMoves: expect.arrayContaining([
        { from: 'conversion', to: 'retention', count: 1 },
        { from: 'retention', to: 'advocacy', count: 1 },
        { from: 'advocacy', to: 'at_risk', count: 1 },
        { from: 'at_risk', to: 'retention', count: 1 },
      ]),
    });
    expect(response.json().stageMoves).toHaveLength(4);
    expect((await service.app.inject({ url: `/metrics/retention?from=${day(90)}&to=${day(20)}` })).statusCode).toBe(400);
  });

  it('describes its read API and the operations routes in an OpenAPI document at /docs', async () => {
    const doc = (await service.app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/customers/{id}', '/customers', '/stages', '/metrics/retention', '/metrics/stage-flows', '/dead-letters', '/dead-letters/records', '/dead-letters/republish', '/admin/consumer-lag']);
    expect(doc.components.schemas.Profile.properties.recentEvents).toMatchObject({ type: 'array', default: [] });
    expect((await service.app.inject({ url: '/docs' })).json()).toEqual(doc);
  });

  it('counts stage moves per UTC month, week or day, empty buckets included', async () => {
    // The same period as the retention figures: jo's four moves on days 21, 22, 51 and 60.
    const monthly = await service.app.inject({ url: `/metrics/stage-flows?from=${day(20)}&to=${day(90)}&bucket=month` });
    expect(monthly.statusCode).toBe(200);
    expect(monthly.json()).toEqual({
      from: day(20),
      to: day(90),
      bucket: 'month',
      buckets: [
        { start: '2026-01-01T00:00:00.000Z', moves: [{ from: 'conversion', to: 'retention', count: 1 }, { from: 'retention', to: 'advocacy', count: 1 }] },
        { start: '2026-02-01T00:00:00.000Z', moves: [{ from: 'advocacy', to: 'at_risk', count: 1 }] },
        { start: '2026-03-01T00:00:00.000Z', moves: [{ from: 'at_risk', to: 'retention', count: 1 }] },
      ],
    });
    // Weeks start on Monday: 2026-02-16 holds day 51 (Saturday 21 February).
    const weekly = (await service.app.inject({ url: `/metrics/stage-flows?from=${day(46)}&to=${day(54)}&bucket=week` })).json();
    expect(weekly.buckets).toEqual([
      { start: '2026-02-16T00:00:00.000Z', moves: [{ from: 'advocacy', to: 'at_risk', count: 1 }] },
      { start: '2026-02-23T00:00:00.000Z', moves: [] },
    ]);
    const daily = (await service.app.inject({ url: `/metrics/stage-flows?from=${day(59)}&to=${day(61)}&bucket=day` })).json();
    expect(daily.buckets).toEqual([
      { start: day(59), moves: [] },
      { start: day(60), moves: [{ from: 'at_risk', to: 'retention', count: 1 }] },
    ]);
    const bad = await service.app.inject({ url: `/metrics/stage-flows?from=${day(20)}&to=${day(90)}&bucket=year` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe('bucket');
    expect((await service.app.inject({ url: `/metrics/stage-flows?from=yesterday&to=${day(90)}` })).json().issues[0].field).toBe('from');
  });

  it('keeps engagement that arrives before the customer’s own events (a rebuild’s replay order) and folds it in', async () => {
    const status = (id: string, s: MessageEvent['payload']['status'], at: string): MessageEvent => ({
      id,
      type: 'message.status',
      version: 1,
      occurredAt: at,
      customerId: 'early',
      causationId: 'message:y',
      payload: { dedupeKey: 'y', campaignId: 'post-purchase-thank-you', status: s, providerTimestamp: at },
    });
    await publish(producer, infra.prefix, 'messageEvents', [status('e-s-1', 'opened', day(11))]);
    await publish(producer, infra.prefix, 'consentChanges', [consentRecord('early', 1, 'unsubscribed', day(12))]);
    await eventually(async () => {
      const { rows } = await runtime.pool.query("SELECT event_id FROM classifier.held_message_events WHERE customer_id = 'early' ORDER BY event_id");
      expect(rows).toEqual([{ event_id: 'consent:early:1' }, { event_id: 'e-s-1' }]);
    });
    expect((await service.app.inject({ url: '/customers/early' })).statusCode).toBe(404);

    await publish(producer, infra.prefix, 'lifecycleEvents', [order('e-o-1', 'early', day(10))]);
    await eventually(async () =>
      expect((await service.app.inject({ url: '/customers/early' })).json().profile).toMatchObject({ lastOpenAt: day(11), consent: { state: 'unsubscribed', changedAt: day(12) }, subscribed: false, subscribedAt: day(12), stage: 'conversion' }),
    );
    const { rows } = await runtime.pool.query("SELECT count(*)::int AS n FROM classifier.held_message_events WHERE customer_id = 'early'");
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('rebuilds the same profiles from the retained events after a reset', async () => {
    const snapshot = async () => (await runtime.pool.query('SELECT customer_id, stage, data FROM classifier.profiles ORDER BY customer_id')).rows;
    const live = await snapshot();
    expect(live.map((r) => [r.customer_id, r.stage])).toEqual([['early', 'conversion'], ['fresh', 'conversion'], ['hist', 'conversion'], ['jo', 'retention'], ['ren', 'awareness'], ['u-7', 'consideration']]);

    await service.stop();
    expect(await resetClassifier({ kafka: infra.kafka, pool: runtime.pool, prefix: infra.prefix })).toMatchObject({ ok: true });
    await expect(runtime.pool.query('SELECT 1 FROM classifier.profiles')).rejects.toThrow(/does not exist/);

    await runMigrations(infra.databaseUrl, { schema: 'classifier', migrationsFolder });
    service = await startClassifier(runtime, await loadThresholds(loadConfig({}).LIFECYCLE_CONFIG));
    await eventually(async () => expect(await snapshot()).toEqual(live), 30_000);
  });

  it('refuses to reset while the classifier is running', async () => {
    await eventually(() => expect(service.consumers.every((c) => c.ready())).toBe(true));
    expect(await resetClassifier({ kafka: infra.kafka, pool: runtime.pool, prefix: infra.prefix })).toMatchObject({ ok: false, reason: expect.stringContaining('stop it first') });
    expect((await runtime.pool.query('SELECT count(*)::int AS n FROM classifier.profiles')).rows).toEqual([{ n: 6 }]);
  });

  it('makes no profile of the store backend that sends catalog updates (Product Updated)', async () => {
    // The catalog update comes first on the id's partition; the order after it shows the consumer got past it.
    await publish(producer, infra.prefix, 'lifecycleEvents', [
      track('pu-1', 'store-backend', 'Product Updated', day(3), { product_id: 'tea-1', stock: 0, in_stock: false }),
      order('pu-2', 'store-backend', day(4)),
    ]);
    await eventually(() => expect(stageChangesOf('store-backend')).toEqual(['new → conversion (first_order)']));
    const { profile } = (await service.app.inject({ url: '/customers/store-backend' })).json<{ profile: { firstSeenAt: string; recentEvents: { type: string }[] } }>();
    expect(profile.firstSeenAt).toBe(day(4));
    expect(profile.recentEvents.map((e) => e.type)).toEqual(['Order Completed']);
  });
});
