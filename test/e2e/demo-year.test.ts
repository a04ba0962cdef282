import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRequested } from '@lifecycle/contracts';
import { startFakeSendGrid, SendGridMail, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { repoRoot } from '@lifecycle/tools/kafka-broker';
import { startServiceProcess, type ServiceProcess } from '@lifecycle/tools/service-process';
import { collectTopic, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { createPool, type Pool } from '@lifecycle/kit';
import { demoMeasurement, writeDemoCampaigns } from '../../tools/src/demo/demo-campaigns.ts';
import { DEMO_WEBHOOK_PUBLIC_KEY } from '../../tools/src/demo/demo-webhook-key.ts';
import type { SendGridWebhookEvent } from '../../tools/src/demo/mail-engagement.ts';
import { runDemo, type DemoSummary } from '../../tools/src/demo/run-demo.ts';
import { seededRandom } from '../../tools/src/demo/seeded-random.ts';
import { demoCustomers, type DemoCustomer } from '../../tools/src/demo/store-customers.ts';
import { dayDate, type DemoCall } from '../../tools/src/demo/store-simulation.ts';

/**
 * The demo store, shortened (a hundred and fifty customers, February and March), played by
 * `runDemo` against the four services as processes on a simulated clock, with a SendGrid
 * stand-in. The test checks what a store owner and the customers would see against what the
 * demo did, as invariants rather than snapshots: every order gets exactly one thank-you; no
 * marketing mail arrives in quiet hours in the customer's zone; birthday mail comes on the
 * birthday in the customer's zone (29 February on the 28th in other years); once an unsubscribe
 * has reached the system, no marketing mail reaches that customer; the summary's figures are
 * those of the system's own records. It runs the demo's copy of the campaigns, measurement on
 * (a 5% control group, 10% holdouts on a few campaigns, sunset): no marketing mail reaches a
 * customer of the control group, no held-out job reaches SendGrid, and the summary's lift is the
 * read API's.
 */

const CUSTOMERS = 150;
const DAYS = 59;
const WRITE_KEY = 'demo-year-write-key';
// February and March of next year (as this process sees the date): always ahead of the broker's
// clock, so no record is old enough for retention, whatever day the test runs.
const YEAR = new Date().getUTCFullYear() + 1;
const START = `${YEAR}-02-01`;
const leap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** The first seed whose customers include one born on 29 February who arrives before the 28th: the case to check. */
function seedWithLeapBirthday(): { seed: number; leapling: DemoCustomer } {
  for (let seed = 1; seed < 1_000; seed++) {
    const leapling = demoCustomers(seededRandom(seed), CUSTOMERS, DAYS).find((c) => c.birthday.endsWith('-02-29') && c.arrivesOnDay < 20);
    if (leapling !== undefined) return { seed, leapling };
  }
  throw new Error('no seed below 1000 gives a customer born on 29 February');
}
const { seed: SEED, leapling } = seedWithLeapBirthday();
const customers = new Map(demoCustomers(seededRandom(SEED), CUSTOMERS, DAYS).map((c) => [c.customerId, c]));

let infra: TestInfra;
let sendgrid: FakeSendGrid;
const services: ServiceProcess[] = [];
let requested: Awaited<ReturnType<typeof collectTopic>>;
const calls: DemoCall[] = [];
/** Webhook events messaging accepted, with the real time it did. */
const posted: { event: SendGridWebhookEvent; at: number }[] = [];
let summary: DemoSummary | undefined;
let exitCode = -1;
let pool: Pool;
const SERVICE_TOKEN = 'demo-year-service-token-0123456789';

/** The contract's assignment (docs/measurement-and-consent.md section 2), computed here on its own. */
const bucket = (key: string): number => Number.parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16) / 2 ** 32;
const inGlobalControl = (customerId: string): boolean => bucket(`global-control:${customerId}`) < demoMeasurement.globalControlPercent / 100;
const url = (name: string) => services.find((s) => s.name === name)?.url ?? '';

/** The mails SendGrid accepted, with the request each came from. */
function mails() {
  const requests = new Map(requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value))).map((m) => [m.payload.dedupeKey, m]));
  return sendgrid.accepted().map((r) => {
    const mail = SendGridMail.parse(r.body);
    const dedupeKey = mail.custom_args?.['dedupeKey'] ?? '';
    const request = requests.get(dedupeKey);
    if (request === undefined) throw new Error(`SendGrid got a mail (${dedupeKey}) no request on messages.requested asked for`);
    return { request, receivedAt: r.receivedAt, text: mail.content?.find((c) => c.type === 'text/plain')?.value ?? '' };
  });
}

/** Wall time `instant` shows in `zone`: date and minutes after midnight. */
function local(instant: Date, zone: string): { date: string; minutes: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts['year']}-${parts['month']}-${parts['day']}`, minutes: Number(parts['hour']) * 60 + Number(parts['minute']) };
}

beforeAll(async () => {
  infra = await createTestInfra();
  pool = createPool(infra.databaseUrl, 2);
  sendgrid = await startFakeSendGrid();
  // As `./lifecycle demo` runs its own stack: a copy of the shipped campaigns with measurement on.
  const campaigns = writeDemoCampaigns(join(repoRoot, 'campaigns'), join(await mkdtemp(join(tmpdir(), 'lifecycle-demo-campaigns-')), 'campaigns'));
  const env = {
    ...serviceEnv(infra),
    LOG_LEVEL: 'warn',
    CLOCK: 'simulated',
    CLOCK_START: `${dayDate(START, -1)}T00:00:00.000Z`,
    SENDGRID_API_KEY: 'SG.demo-year-key',
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_WEBHOOK_PUBLIC_KEY: DEMO_WEBHOOK_PUBLIC_KEY,
    SEND_CONCURRENCY: '32',
    // As a stack of `./lifecycle start` runs: the demo's reads and clock moves carry the token.
    SERVICE_TOKEN,
    ...campaigns.env,
    SENDGRID_SENDS_PER_SECOND: '100000',
    OUTBOX_DIR: await mkdtemp(join(tmpdir(), 'lifecycle-outbox-')),
    UNSUBSCRIBE_SECRET: 'demo-year-unsubscribe-secret-0123456789',
    COUPON_SECRET: 'demo-year-coupon-secret-0123456789abcdef',
    INGESTION_WRITE_KEY_HASHES: createHash('sha256').update(WRITE_KEY).digest('hex'),
  };
  // The scheduler first: it publishes the clock the others start from.
  for (const name of ['scheduler', 'ingestion', 'classifier', 'messaging']) services.push(await startServiceProcess(name, env));
  requested = await collectTopic(infra, 'messagesRequested');
  exitCode = await runDemo({
    customers: CUSTOMERS,
    days: DAYS,
    seed: SEED,
    start: START,
    stepHours: 24,
    brokers: infra.brokers,
    topicPrefix: infra.prefix,
    databaseUrl: infra.databaseUrl,
    urls: { ingestion: url('ingestion'), classifier: url('classifier'), scheduler: url('scheduler'), messaging: url('messaging') },
    serviceToken: env.SERVICE_TOKEN,
    writeKey: WRITE_KEY,
    say: () => undefined,
    progress: () => undefined,
    observe: {
      call: (call) => calls.push(call),
      posted: (events) => posted.push(...events.map((event) => ({ event, at: Date.now() }))),
      summary: (s) => {
        summary = s;
      },
    },
  });
  // Messaging sends after the scheduler's last decisions: wait until SendGrid has stopped receiving.
  let last = -1;
  let still = 0;
  await eventually(
    () => {
      const now = sendgrid.accepted().length;
      still = now === last ? still + 1 : 0;
      last = now;
      expect(still).toBeGreaterThanOrEqual(6);
    },
    120_000,
    500,
  );
}, 900_000);

afterAll(async () => {
  await requested?.stop();
  await pool?.end();
  await sendgrid?.close();
  await Promise.all(services.map((s) => s.stop(15_000)));
});

describe('the demo store’s February and March, through the whole system', () => {
  it('plays to the end and prints its summary', () => {
    expect(exitCode).toBe(0);
    expect(calls.filter((c) => c.type === 'track' && c.event === 'Order Completed').length).toBeGreaterThan(50);
    expect(posted.length, 'opens, clicks or unsubscribes reported').toBeGreaterThan(0);
    expect(summary).toBeDefined();
  });

  it('gives every order exactly one thank-you', async () => {
    const orders = new Map<string, number>();
    for (const c of calls) if (c.type === 'track' && c.event === 'Order Completed') orders.set(c.customerId, (orders.get(c.customerId) ?? 0) + 1);
    await eventually(() => {
      const thanks = new Map<string, number>();
      for (const { request } of mails()) if (request.payload.campaignId === 'post-purchase-thank-you') thanks.set(request.customerId, (thanks.get(request.customerId) ?? 0) + 1);
      expect(Object.fromEntries([...thanks].sort())).toEqual(Object.fromEntries([...orders].sort()));
    }, 60_000);
  });

  it('sends no marketing mail in quiet hours (09:00 to 20:00 in the customer’s zone)', () => {
    const marketing = mails().filter(({ request }) => request.payload.category === 'marketing');
    expect(marketing.length).toBeGreaterThan(20);
    const outside = marketing
      .map(({ request }) => ({ id: request.payload.dedupeKey, zone: request.payload.timeZone, ...local(new Date(request.occurredAt), request.payload.timeZone) }))
      .filter((m) => m.minutes < 9 * 60 || m.minutes > 20 * 60);
    expect(outside).toEqual([]);
    // Every customer's zone is the one they told the store.
    for (const { request } of marketing) expect(request.payload.timeZone).toBe(customers.get(request.customerId)?.timeZone);
  });

  it('sends birthday mail on the birthday in the customer’s zone, 29 February on the 28th in other years', () => {
    const birthdays = mails().filter(({ request }) => request.payload.campaignId === 'birthday');
    expect(birthdays.length).toBeGreaterThan(0);
    for (const { request } of birthdays) {
      const customer = customers.get(request.customerId);
      const { date } = local(new Date(request.occurredAt), customer?.timeZone ?? 'UTC');
      const monthDay = customer?.birthday.slice(5) ?? '';
      const expected = monthDay === '02-29' && !leap(Number(date.slice(0, 4))) ? '02-28' : monthDay;
      expect(`${request.customerId} ${date.slice(5)}`).toBe(`${request.customerId} ${expected}`);
    }
    // Each with a code of its own from the birthday pool (BDAY-…), printed in the mail.
    const codes = birthdays.map(({ text }) => /\bBDAY-[0-9A-Z]{12}\b/.exec(text)?.[0]);
    expect(codes.filter((c) => c === undefined)).toEqual([]);
    expect(new Set(codes).size).toBe(birthdays.length);
    const leaplings = birthdays.filter(({ request }) => request.customerId === leapling.customerId);
    expect(leaplings.map(({ request }) => local(new Date(request.occurredAt), leapling.timeZone).date)).toEqual([leap(YEAR) ? `${YEAR}-02-29` : `${YEAR}-02-28`]);
  });

  it('mails no marketing to a customer once their unsubscribe has reached the system', () => {
    const unsubscribed = new Map<string, number>();
    for (const { event, at } of posted) if (event.event === 'unsubscribe' && !unsubscribed.has(event.customerId)) unsubscribed.set(event.customerId, at);
    expect(unsubscribed.size, 'some demo customers unsubscribe').toBeGreaterThan(0);
    const after = mails().filter(({ request, receivedAt }) => request.payload.category === 'marketing' && receivedAt > (unsubscribed.get(request.customerId) ?? Infinity));
    expect(after.map(({ request }) => `${request.customerId} ${request.payload.campaignId}`)).toEqual([]);
  });

  it('prints figures that match what SendGrid received and what the demo sent', () => {
    const sentBy = new Map<string, number>();
    for (const { request } of mails()) sentBy.set(request.payload.campaignId, (sentBy.get(request.payload.campaignId) ?? 0) + 1);
    const printed = Object.fromEntries((summary?.campaigns ?? []).filter((c) => c.sent > 0).map((c) => [c.id, c.sent]));
    expect(printed).toEqual(Object.fromEntries([...sentBy].sort()));
    // Orders and their average value per currency, from the demo's own calls in the summary's
    // span (UTC days: an evening order of the last local day in America is already past it).
    const span = [Date.parse(`${START}T00:00:00.000Z`), Date.parse(`${dayDate(START, DAYS)}T00:00:00.000Z`)] as const;
    const byCurrency = new Map<string, { orders: number; total: number }>();
    for (const c of calls) {
      if (c.type !== 'track' || c.event !== 'Order Completed' || c.at.getTime() < span[0] || c.at.getTime() >= span[1]) continue;
      const currency = String(c.properties['currency']);
      const seen = byCurrency.get(currency) ?? { orders: 0, total: 0 };
      byCurrency.set(currency, { orders: seen.orders + 1, total: seen.total + Number(c.properties['total']) });
    }
    for (const [currency, { orders, total }] of byCurrency) {
      expect(summary?.retention.byCurrency[currency]?.orders, currency).toBe(orders);
      expect(summary?.retention.byCurrency[currency]?.averageOrderValue, currency).toBeCloseTo(total / orders, 2);
    }
    // Retention over the last half of the run: of those who had ordered before it, the share who ordered in it.
    const periodFrom = Date.parse(`${dayDate(START, DAYS - Math.floor(DAYS / 2))}T00:00:00.000Z`);
    const orderTimes = new Map<string, number[]>();
    for (const c of calls) if (c.type === 'track' && c.event === 'Order Completed') orderTimes.set(c.customerId, [...(orderTimes.get(c.customerId) ?? []), c.at.getTime()]);
    const before = [...orderTimes.values()].filter((times) => times.some((t) => t < periodFrom));
    const returned = before.filter((times) => times.some((t) => t >= periodFrom));
    expect(before.length).toBeGreaterThan(10);
    expect(summary?.period.customerRetentionRate).toBeCloseTo(returned.length / before.length, 6);
    // Everyone who arrived has a stage, and the flow into each stage adds up to who is there.
    const arrived = new Set(calls.filter((c) => c.type === 'identify').map((c) => c.customerId));
    expect(Object.values(summary?.stages ?? {}).reduce((a, b) => a + b, 0)).toBe(arrived.size);
  });

  it('mails no marketing to a customer of the programme’s control group, and holds their marketing jobs out instead', async () => {
    const control = [...customers.keys()].filter(inGlobalControl);
    expect(control.length, 'the seed puts some customers in the 5% control group').toBeGreaterThan(0);
    const mailed = mails().filter(({ request }) => request.payload.category === 'marketing' && inGlobalControl(request.customerId));
    expect(mailed.map(({ request }) => `${request.customerId} ${request.payload.campaignId}`)).toEqual([]);
    // Transactional mail still reaches them: the control group is about marketing only.
    expect(mails().some(({ request }) => request.payload.category === 'transactional' && inGlobalControl(request.customerId))).toBe(true);
    const { rows } = await pool.query<{ customer_id: string; skip_reason: string }>("SELECT customer_id, skip_reason FROM scheduler.jobs WHERE status = 'held_out' AND skip_reason = 'global_control'");
    expect(rows.length, 'marketing jobs of control customers were held out').toBeGreaterThan(0);
    for (const row of rows) expect(inGlobalControl(row.customer_id), row.customer_id).toBe(true);
  });

  it('never sends a held-out job: neither requested from messaging nor received by SendGrid', async () => {
    const { rows } = await pool.query<{ dedupe_key: string; campaign_id: string; skip_reason: string }>("SELECT dedupe_key, campaign_id, skip_reason FROM scheduler.jobs WHERE status = 'held_out'");
    const held = rows.filter((r) => r.skip_reason === 'holdout');
    expect(held.length, 'some jobs of the holdout campaigns were held out').toBeGreaterThan(0);
    // Campaign holdouts only where the campaign file asks for one.
    expect([...new Set(held.map((r) => r.campaign_id))].filter((id) => !demoMeasurement.holdoutCampaigns.includes(id))).toEqual([]);
    const heldKeys = new Set(rows.map((r) => r.dedupe_key));
    expect(sendgrid.accepted().map((r) => SendGridMail.parse(r.body).custom_args?.['dedupeKey'] ?? '').filter((key) => heldKeys.has(key))).toEqual([]);
    expect(requested.records.map((r) => MessageRequested.parse(JSON.parse(r.value)).payload.dedupeKey).filter((key) => heldKeys.has(key))).toEqual([]);
  });

  it('prints each holdout campaign’s lift as the scheduler’s read API gives it', async () => {
    const printed = summary?.holdouts ?? [];
    expect(printed.map((h) => h.campaignId).sort()).toEqual([...demoMeasurement.holdoutCampaigns].sort());
    for (const { campaignId, holdout } of printed) {
      const response = await fetch(`${url('scheduler')}/campaigns/${campaignId}/stats`, { headers: { authorization: `Bearer ${SERVICE_TOKEN}` } });
      expect(response.status).toBe(200);
      const stats = (await response.json()) as { holdout?: unknown };
      expect(stats.holdout, campaignId).toEqual(holdout);
      expect(holdout.percent).toBe(demoMeasurement.holdoutPercent);
    }
    // Mailed customers of the holdout campaigns got their mail: the read API counts what SendGrid received.
    const crossSell = printed.find((h) => h.campaignId === 'cross-sell')?.holdout;
    const crossSellMailed = new Set(mails().filter(({ request }) => request.payload.campaignId === 'cross-sell').map(({ request }) => request.customerId));
    expect(crossSell?.mailed.customers).toBe(crossSellMailed.size);
    expect(summary?.programme?.globalControlPercent).toBe(demoMeasurement.globalControlPercent);
    expect(summary?.sunset).toMatchObject({ enabled: true, after: demoMeasurement.sunset.after, grace: demoMeasurement.sunset.grace });
  });
});
