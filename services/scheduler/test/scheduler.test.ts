import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRequested, TimerFired, type LifecycleEvent, type MessageEvent, type TimerRequested } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { lifecycleBatchHandler } from '../src/consumer.ts';
import { purgeProcessedEvents, purgeSettledJobs } from '../src/db/purge.ts';
import { Campaign, CampaignSettings } from '../src/domain/campaign.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

const start = new Date('2026-11-20T09:00:00.000Z');
const thankYou = Campaign.parse({
  id: 'post-purchase-thank-you',
  name: 'Thank you',
  template: 'post-purchase-thank-you',
  category: 'transactional',
  trigger: { event: 'Order Completed' },
  delay: 'PT2H',
});

// "10:00 customer time, 3 days after delivery": follows the customer when they change zone.
const tips = Campaign.parse({
  id: 'tips',
  name: 'Tips',
  template: 'onboarding-tips',
  category: 'transactional',
  trigger: { event: 'Order Delivered' },
  delay: { days: 3, at: '10:00' },
});

let infra: TestInfra;
let runtime: Runtime;
let scheduler: Scheduler;
let producer: Producer;
let requested: Awaited<ReturnType<typeof collectTopic>>;
let timersFired: Awaited<ReturnType<typeof collectTopic>>;
// Events are stamped as arriving at the simulated time they are published, never at the real
// date, so whether an event counts as historical does not depend on when the suite runs.
const clock = simulatedClock(start);
const arrivedNow = () => ({ at: clock.now() });

function order(id: string, customerId: string, email: string | undefined, at: Date = start): LifecycleEvent {
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: at.toISOString(),
    customerId,
    causationId: id,
    payload: {
      call: {
        type: 'track',
        messageId: id,
        timestamp: at.toISOString(),
        userId: customerId,
        event: 'Order Completed',
        properties: { order_id: `o-${id}`, total: 42, currency: 'USD', products: [{ name: 'Kettle', price: 42, quantity: 1 }] },
        context: { traits: { first_name: 'Ada', ...(email ? { email } : {}) } },
      },
    },
  };
}

async function campaignJobs(): Promise<Record<string, number>> {
  const body = (await scheduler.app.inject({ url: '/campaigns' })).json();
  return body.campaigns[0].jobs;
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  // No polling: firing happens when the clock is set or a job is planned, so each POST
  // /admin/clock answer counts exactly what became due (a poll could otherwise fire it first).
  scheduler = await startScheduler({ runtime, campaigns: [thankYou, tips], settings: CampaignSettings.parse({}), clock, simulated: clock, pollMs: 60_000 });
  producer = await connectedProducer(infra);
  requested = await collectTopic(infra, 'messagesRequested');
  timersFired = await collectTopic(infra, 'timersFired');
});

afterAll(async () => {
  await Promise.all([requested?.stop(), timersFired?.stop(), producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

describe('scheduler on a real broker and database', () => {
  it('plans the thank-you, fires it only when the clock passes the delay, and plans nothing twice', async () => {
    const event = order('e-1', 'ada', 'ada@example.com');
    await publish(producer, infra.prefix, 'lifecycleEvents', [event, event], arrivedNow());
    await eventually(async () => expect(await campaignJobs()).toEqual({ pending: 1 }));

    const early = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-11-20T10:59:00Z' } });
    expect(early.json()).toEqual({ now: '2026-11-20T10:59:00.000Z', fired: 0 });
    expect(requested.records).toHaveLength(0);

    const late = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-11-20T11:00:00Z' } });
    expect(late.json()).toEqual({ now: '2026-11-20T11:00:00.000Z', fired: 1 });
    const [message] = await eventually(() => {
      expect(requested.records).toHaveLength(1);
      return requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value)));
    });
    expect(message?.payload).toMatchObject({
      dedupeKey: 'post-purchase-thank-you:ada:e-1',
      templateId: 'post-purchase-thank-you',
      category: 'transactional',
      recipient: { email: 'ada@example.com' },
      data: { customer: { firstName: 'Ada' }, order: { orderId: 'o-e-1', total: 42, currency: 'USD', products: [{ name: 'Kettle', quantity: 1, price: 42 }] } },
    });
    expect(await campaignJobs()).toEqual({ sent: 1 });

    // The same order redelivered later plans and sends nothing more.
    await publish(producer, infra.prefix, 'lifecycleEvents', [event], arrivedNow());
    await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-11-21T11:00:00Z' } });
    expect(await campaignJobs()).toEqual({ sent: 1 });
  });

  it('fires an already-overdue job at once, and records it skipped when the customer has no email address', async () => {
    // The clock stands past this order's due time, so the job is due as soon as it is planned.
    await publish(producer, infra.prefix, 'lifecycleEvents', [order('e-2', 'nomail', undefined)], arrivedNow());
    await eventually(async () => expect(await campaignJobs()).toEqual({ sent: 1, skipped: 1 }));
    expect(requested.records).toHaveLength(1);
  });

  it('refuses to move the clock backwards and names a bad time', async () => {
    const back = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2020-01-01T00:00:00Z' } });
    expect(back.statusCode).toBe(409);
    const bad = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: 'tomorrow' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe('now');
  });
});

function timerRequest(id: string, fireAt: string): TimerRequested {
  return {
    id,
    type: 'timer.requested',
    version: 1,
    occurredAt: fireAt,
    customerId: 'tim',
    causationId: id,
    payload: { timerId: 'classifier:silence:tim', owner: 'classifier', fireAt, data: { check: 'silence' } },
  };
}

describe('generic timers for other services', () => {
  it('fires the latest requested time once, when the clock passes it', async () => {
    const first = timerRequest('r-1', '2026-12-10T00:00:00.000Z');
    const moved = timerRequest('r-2', '2026-12-20T00:00:00.000Z');
    await publish(producer, infra.prefix, 'timersRequested', [first, moved, first]);
    const rows = async () => (await runtime.pool.query("SELECT fire_at, status FROM scheduler.timers WHERE timer_id = 'classifier:silence:tim'")).rows;
    await eventually(async () => expect(await rows()).toEqual([{ fire_at: new Date('2026-12-20T00:00:00.000Z'), status: 'pending' }]));

    await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-12-15T00:00:00Z' } });
    expect(timersFired.records).toHaveLength(0);
    const fired = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-12-20T00:00:00Z' } });
    expect(fired.json().fired).toBe(1);
    const [timer] = await eventually(() => {
      expect(timersFired.records).toHaveLength(1);
      return timersFired.records.map((r) => TimerFired.parse(JSON.parse(r.value)));
    });
    expect(timer).toMatchObject({ id: 'timer:classifier:silence:tim@2026-12-20T00:00:00.000Z', customerId: 'tim', payload: { owner: 'classifier', data: { check: 'silence' } } });

    // A redelivered request does not re-arm the timer.
    await publish(producer, infra.prefix, 'timersRequested', [moved]);
    await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2026-12-21T00:00:00Z' } });
    expect(await rows()).toEqual([{ fire_at: new Date('2026-12-20T00:00:00.000Z'), status: 'fired' }]);
    expect(timersFired.records).toHaveLength(1);
  });
});

describe('housekeeping', () => {
  it('forgets settled jobs after the retention, but never pending ones or those that stand for "once ever"', async () => {
    const job = (key: string, campaign: string, status: string, firedAt: string | null) =>
      runtime.pool.query(
        `INSERT INTO scheduler.jobs (dedupe_key, campaign_id, customer_id, trigger_event_id, due_at, status, trigger_data, fired_at)
         VALUES ($1, $2, 'keeper', $1, '2020-01-01T00:00:00Z', $3, '{}', $4)`,
        [key, campaign, status, firedAt],
      );
    await job('old-sent', 'hk-thanks', 'sent', '2020-01-02T00:00:00Z');
    await job('old-cancelled', 'hk-thanks', 'cancelled', '2020-01-02T00:00:00Z');
    await job('old-once', 'hk-referral', 'sent', '2020-01-02T00:00:00Z');
    await job('old-pending', 'hk-thanks', 'pending', null);
    await job('recent-sent', 'hk-thanks', 'sent', '2021-01-20T00:00:00Z');
    expect(await purgeSettledJobs(runtime.db, new Date('2022-01-01T00:00:00Z'), 400, ['hk-referral'])).toBe(2);
    const { rows } = await runtime.pool.query("SELECT dedupe_key FROM scheduler.jobs WHERE customer_id = 'keeper' ORDER BY dedupe_key");
    expect(rows.map((r) => r.dedupe_key)).toEqual(['old-once', 'old-pending', 'recent-sent']);
  });

  it('forgets processed-record ids older than the retention, keeping recent ones for redeliveries', async () => {
    // Stamped by this process's clock, as the service stamps them: never the database's now().
    const now = new Date();
    const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
    await runtime.pool.query("INSERT INTO scheduler.processed_events (event_id, processed_at) VALUES ('old-1', $1), ('old-2', $2), ('recent-1', $3)", [daysAgo(31), daysAgo(40), daysAgo(29)]);
    expect(await purgeProcessedEvents(runtime.db, now, 30)).toBe(2);
    const { rows } = await runtime.pool.query("SELECT event_id FROM scheduler.processed_events WHERE event_id IN ('old-1', 'old-2', 'recent-1')");
    expect(rows).toEqual([{ event_id: 'recent-1' }]);
  });
});

describe('a customer who moves to another time zone', () => {
  it('gets a pending "10:00 their time" message at 10:00 in the new zone', async () => {
    const event = (id: string, call: LifecycleEvent['payload']['call']): LifecycleEvent => ({ id, type: 'commerce.event', version: 1, occurredAt: call.timestamp, customerId: 'mover', causationId: id, payload: { call } });
    // After the clock of the tests above (21 December 2026), so the message is still pending.
    const at = '2027-01-10T09:00:00.000Z';
    await publish(producer, infra.prefix, 'lifecycleEvents', [
      event('mv-1', { type: 'identify', messageId: 'mv-1', timestamp: at, userId: 'mover', traits: { email: 'mover@example.com', timezone: 'America/New_York' } }),
      event('mv-2', { type: 'track', messageId: 'mv-2', timestamp: at, userId: 'mover', event: 'Order Delivered', properties: { order_id: 'o-mv' } }),
    ], { at: new Date(at) });
    const due = async () => (await runtime.pool.query("SELECT due_at FROM scheduler.jobs WHERE customer_id = 'mover' AND campaign_id = 'tips'")).rows;
    // 13 January, 10:00 in New York.
    await eventually(async () => expect(await due()).toEqual([{ due_at: new Date('2027-01-13T15:00:00.000Z') }]));
    await publish(producer, infra.prefix, 'lifecycleEvents', [
      event('mv-3', { type: 'identify', messageId: 'mv-3', timestamp: '2027-01-10T10:00:00.000Z', userId: 'mover', traits: { timezone: 'Asia/Tokyo' } }),
    ], { at: new Date('2027-01-10T10:00:00.000Z') });
    // The same day, 10:00 in Tokyo: three days after the delivery in the customer's calendar there.
    await eventually(async () => expect(await due()).toEqual([{ due_at: new Date('2027-01-13T01:00:00.000Z') }]));
  });
});

describe('a batch that changes a customer’s birthday twice', () => {
  it('plans the birthday message once, from the last birthday the batch carries', async () => {
    const birthday = Campaign.parse({ id: 'birthday', name: 'Birthday', template: 'birthday', category: 'marketing', trigger: { date: 'birthday' }, delay: { days: 0, at: '09:00' } });
    // The consumer's batch handler itself, so both events are applied in one transaction.
    const handle = lifecycleBatchHandler({ runtime, campaigns: [birthday], settings: CampaignSettings.parse({}), clock, onPlanned: () => undefined });
    const at = clock.now().toISOString();
    const identify = (id: string, offset: number, date: string) => ({
      value: { id, type: 'commerce.event' as const, version: 1 as const, occurredAt: at, customerId: 'twice', causationId: id, payload: { call: { type: 'identify' as const, messageId: id, timestamp: at, userId: 'twice', traits: { timezone: 'UTC', birthday: date } } } },
      record: { topic: 'lifecycle.events', partition: 0, offset: String(offset), key: 'twice', timestamp: clock.now().getTime() },
    });
    await handle([identify('bd-1', 1, '1990-03-01'), identify('bd-2', 2, '1990-05-01')]);
    const { rows } = await runtime.pool.query<{ status: string; due_at: Date }>("SELECT status, due_at FROM scheduler.jobs WHERE customer_id = 'twice'");
    expect(rows.map((r) => ({ status: r.status, day: r.due_at.toISOString().slice(5) }))).toEqual([{ status: 'pending', day: '05-01T09:00:00.000Z' }]);
  });
});

describe('what messaging did with a request', () => {
  it('counts a message messaging failed, suppressed or skipped as not sent, and ignores its other statuses', async () => {
    const stats = async () => (await scheduler.app.inject({ url: '/campaigns/post-purchase-thank-you/stats' })).json();
    const before = await stats();
    await publish(producer, infra.prefix, 'lifecycleEvents', [order('e-f', 'fay', 'fay@example.com', clock.now()), order('e-s', 'sue', 'sue@example.com', clock.now()), order('e-d', 'dee', 'dee@example.com', clock.now()), order('e-k', 'kim', 'kim@example.com', clock.now())], arrivedNow());
    await eventually(async () => expect((await stats()).pending).toBe(4));
    await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: new Date(clock.now().getTime() + 3 * 3_600_000).toISOString() } });
    await eventually(async () => expect((await stats()).sent).toBe(before.sent + 4));
    const outcome = (key: string, status: MessageEvent['payload']['status'], customerId: string): MessageEvent => ({
      id: `outcome:${key}:${status}`,
      type: 'message.status',
      version: 1,
      occurredAt: clock.now().toISOString(),
      customerId,
      causationId: key,
      payload: {
        dedupeKey: key,
        campaignId: 'post-purchase-thank-you',
        status,
        ...(status === 'failed' ? { error: 'rejected by the mail provider' } : {}),
        ...(status === 'skipped' ? { reason: 'no_coupon', error: 'no_coupon: pool "birthday" has no code left' } : {}),
      },
    });
    await publish(producer, infra.prefix, 'messageEvents', [
      outcome('post-purchase-thank-you:fay:e-f', 'failed', 'fay'),
      outcome('post-purchase-thank-you:sue:e-s', 'suppressed', 'sue'),
      // No coupon left for its offer: not sent, counted under skips by messaging's reason.
      outcome('post-purchase-thank-you:kim:e-k', 'skipped', 'kim'),
      // Delivered and doubtful mail was given to the provider: still a send.
      outcome('post-purchase-thank-you:dee:e-d', 'doubtful', 'dee'),
      outcome('post-purchase-thank-you:dee:e-d', 'delivered', 'dee'),
    ]);
    await eventually(async () => expect(await stats()).toMatchObject({ sent: before.sent + 1, failed: 1, suppressed: 1, skipped: { byReason: { no_coupon: 1 } } }));
    const { rows } = await runtime.pool.query("SELECT customer_id, status, skip_reason FROM scheduler.jobs WHERE customer_id IN ('fay', 'sue', 'dee', 'kim') ORDER BY customer_id");
    expect(rows).toEqual([
      { customer_id: 'dee', status: 'sent', skip_reason: null },
      { customer_id: 'fay', status: 'failed', skip_reason: 'failed' },
      { customer_id: 'kim', status: 'skipped', skip_reason: 'no_coupon' },
      { customer_id: 'sue', status: 'suppressed', skip_reason: 'suppressed' },
    ]);
  });
});
