import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRequested } from '@lifecycle/contracts';
import { createPool, type Pool } from '@lifecycle/kit';
import { startFakeSendGrid, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { startServiceProcess, type ServiceProcess } from '@lifecycle/tools/service-process';
import { collectTopic, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';

/**
 * A year of one customer through the front door, as a store would send it: the real
 * `@segment/analytics-node` client posting to ingestion's HTTP API, the four services as
 * processes with CLOCK=simulated, the scheduler's clock walked through the year. Every service
 * reads the scheduler's clock, so a backdated year is received as it happens: the customer gets
 * the campaigns the scheduler-only year test (services/scheduler/test/shipped-campaigns.test.ts)
 * plans for the same customer, at the same instants, plus what the classifier's stages start
 * there (that test injects stage changes by hand instead).
 */

// The same instants as the scheduler-only year: Monday 2027-01-04, 09:00 in New York.
const S = new Date('2027-01-04T14:00:00.000Z');
const END = new Date('2028-01-06T00:00:00.000Z');
const minutes = (n: number) => new Date(S.getTime() + n * 60_000);
const days = (n: number, hhmmZ = '14:00') => new Date(`${new Date(S.getTime() + n * 86_400_000).toISOString().slice(0, 10)}T${hhmmZ}:00.000Z`);
const WRITE_KEY = 'front-door-write-key';

type Call = (a: Analytics, done: (err?: unknown) => void) => void;
const buyer = 'buyer';
const product = (name: string, sku: string, price: number, category: string) => ({ name, sku, price, quantity: 1, category });
const timeline: { at: Date; call: Call }[] = [
  { at: minutes(-60), call: (a, done) => a.identify({ userId: buyer, timestamp: minutes(-60), traits: { email: 'buyer@example.com', first_name: 'Bea', timezone: 'America/New_York' } }, done) },
  { at: S, call: (a, done) => a.track({ userId: buyer, timestamp: S, event: 'Checkout Started', properties: { checkout_id: 'chk-1', total: 120, currency: 'USD' } }, done) },
  {
    at: minutes(10),
    call: (a, done) =>
      a.track(
        {
          userId: buyer,
          timestamp: minutes(10),
          event: 'Order Completed',
          properties: { order_id: 'o-1', checkout_id: 'chk-1', total: 120, currency: 'USD', products: [product('Ceramic Pour-Over Dripper', 'DRIP-CER-01', 32, 'Brewing'), product('Gooseneck Kettle 1 l', 'KETTLE-GN-1', 88, 'Brewing')] },
        },
        done,
      ),
  },
  { at: days(3), call: (a, done) => a.track({ userId: buyer, timestamp: days(3), event: 'Order Delivered', properties: { order_id: 'o-1' } }, done) },
  {
    at: days(12, '17:00'),
    call: (a, done) =>
      a.track({ userId: buyer, timestamp: days(12, '17:00'), event: 'Order Completed', properties: { order_id: 'o-2', total: 45, currency: 'USD', products: [product('Burr Hand Grinder', 'GRIND-HAND-01', 45, 'Coffee')] } }, done),
  },
];

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let analytics: Analytics;
let db: Pool;
const services: ServiceProcess[] = [];
let requested: Awaited<ReturnType<typeof collectTopic>>;
const url = (name: string) => services.find((s) => s.name === name)?.url ?? '';

async function clockOf(service: string): Promise<Date> {
  const body: { now: string } = await (await fetch(`${url(service)}/admin/clock`)).json();
  return new Date(body.now);
}

async function setClock(now: Date): Promise<void> {
  const response = await fetch(`${url('scheduler')}/admin/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ now: now.toISOString() }) });
  expect(response.status).toBe(200);
  // Ingestion follows the published clock: calls sent now are received at this instant.
  await eventually(async () => expect((await clockOf('ingestion')).getTime()).toBeGreaterThanOrEqual(now.getTime()), 10_000, 20);
}

const count = async (query: string, params: unknown[] = []): Promise<number> => Number((await db.query<{ n: number }>(query, params)).rows[0]?.n ?? 0);

/** Nothing left in flight: every outbox empty, every consumer group caught up, nothing due undone — twice in a row. */
async function settled(now: Date): Promise<void> {
  const admin = infra.kafka.admin();
  await admin.connect();
  try {
    let quiet = 0;
    await eventually(
      async () => {
        let busy = 0;
        for (const schema of ['ingestion', 'classifier', 'scheduler', 'messaging']) busy += await count(`SELECT count(*)::int AS n FROM ${schema}.outbox`);
        busy += await count("SELECT count(*)::int AS n FROM scheduler.jobs WHERE status = 'pending' AND due_at <= $1", [now]);
        busy += await count("SELECT count(*)::int AS n FROM scheduler.timers WHERE status = 'pending' AND fire_at <= $1", [now]);
        const { groups } = await admin.listGroups();
        for (const { groupId } of groups.filter((g) => g.groupId.startsWith(infra.prefix) && !g.groupId.includes('clock-follower'))) {
          for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
            const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
            for (const p of partitions) busy += Math.max(0, (ends.get(p.partition) ?? 0) - Math.max(0, Number(p.offset)));
          }
        }
        quiet = busy === 0 ? quiet + 1 : 0;
        expect(quiet).toBeGreaterThanOrEqual(2);
      },
      60_000,
      150,
    );
  } finally {
    await admin.disconnect();
  }
}

/** The next instant that matters: a call to send, a job due, or a silence check of the classifier. */
async function nextInstant(after: Date, calls: number): Promise<Date | undefined> {
  const candidates = [timeline[calls]?.at];
  const { rows } = await db.query<{ due: Date | null; fire: Date | null }>(
    "SELECT (SELECT min(due_at) FROM scheduler.jobs WHERE status = 'pending') AS due, (SELECT min(fire_at) FROM scheduler.timers WHERE status = 'pending' AND timer_id LIKE 'classifier:silence:%') AS fire",
  );
  candidates.push(rows[0]?.due ?? undefined, rows[0]?.fire ?? undefined);
  const times = candidates.flatMap((d) => (d === undefined || d.getTime() > END.getTime() ? [] : [Math.max(d.getTime(), after.getTime())]));
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  db = createPool(infra.databaseUrl, 2);
  const env = {
    ...serviceEnv(infra),
    LOG_LEVEL: 'info',
    CLOCK: 'simulated',
    CLOCK_START: minutes(-90).toISOString(),
    SENDGRID_API_KEY: 'SG.front-door-key',
    SENDGRID_BASE_URL: sendgrid.url,
    OUTBOX_DIR: await mkdtemp(join(tmpdir(), 'lifecycle-outbox-')),
    UNSUBSCRIBE_SECRET: 'front-door-unsubscribe-secret-0123456789',
    COUPON_SECRET: 'front-door-coupon-secret-0123456789abcdef',
    INGESTION_WRITE_KEY_HASHES: createHash('sha256').update(WRITE_KEY).digest('hex'),
  };
  // The scheduler first: it publishes the clock the others start from.
  for (const name of ['scheduler', 'ingestion', 'classifier', 'messaging']) services.push(await startServiceProcess(name, env));
  requested = await collectTopic(infra, 'messagesRequested');
  analytics = new Analytics({ writeKey: WRITE_KEY, host: url('ingestion'), maxEventsInBatch: 1, flushInterval: 10 });
  const failures: unknown[] = [];
  analytics.on('error', (err) => failures.push(err));

  let now = await clockOf('scheduler');
  let sent = 0;
  for (let step = 0; step < 200; step++) {
    const next = await nextInstant(now, sent);
    if (next === undefined) break;
    if (next.getTime() > now.getTime()) await setClock(next);
    now = next;
    while (timeline[sent] !== undefined && (timeline[sent]?.at.getTime() ?? Infinity) <= now.getTime()) {
      const { call } = timeline[sent++] ?? {};
      if (call !== undefined) await new Promise<void>((resolve, reject) => call(analytics, (err) => (err === undefined ? resolve() : reject(err))));
    }
    await settled(now);
  }
  if (now.getTime() < END.getTime()) await setClock(END);
  await settled(END);
  expect(failures).toEqual([]);
}, 600_000);

afterAll(async () => {
  await analytics?.closeAndFlush({ timeout: 5_000 });
  await requested?.stop();
  await sendgrid?.close();
  await Promise.all(services.map((s) => s.stop(15_000)));
  await db?.end();
});

describe('a year of one customer through the Segment HTTP API, on the scheduler’s clock', () => {
  it('gets the scheduler-only year’s campaigns at the same instants, and the win-backs its stages start', () => {
    const got = requested.records
      .map((r) => MessageRequested.parse(JSON.parse(r.value)))
      .map((m) => [m.payload.campaignId, m.occurredAt])
      .sort((a, b) => a.join().localeCompare(b.join()));
    expect(got).toEqual([
      // As in shipped-campaigns.test.ts for the same customer:
      ['cross-sell', '2027-01-14T15:00:00.000Z'],
      ['cross-sell', '2027-01-26T15:00:00.000Z'],
      ['first-order-anniversary', '2028-01-04T15:00:00.000Z'],
      ['nps-survey', '2027-01-21T16:00:00.000Z'],
      ['onboarding-tips', '2027-01-08T15:00:00.000Z'],
      ['post-purchase-thank-you', '2027-01-04T14:10:00.000Z'],
      ['post-purchase-thank-you', '2027-01-16T17:00:00.000Z'],
      ['review-request', '2027-01-14T15:00:00.000Z'],
      // What the classifier's stages start (config/lifecycle.yaml): the orders 12 d 2 h 50 min
      // apart make the customer at risk 1.5 × that gap after the last order (16 Jan 17:00 +
      // 18 d 4 h 15 min), after 10:00 in New York, so at once; lapsed at 3 × that silence, 12 March,
      // sent at 10:00 there.
      ['win-back-at-risk', '2027-02-03T21:15:00.000Z'],
      ['win-back-lapsed', '2027-03-12T15:00:00.000Z'],
    ]);
  });

  it('hands every requested message to SendGrid once', () => {
    expect(sendgrid.accepted()).toHaveLength(requested.records.length);
  });
});
