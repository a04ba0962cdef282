import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { openRuntime, type FastifyInstance, type Runtime } from '@lifecycle/kit';
import { createTestInfra, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { createSchedulerApp } from '../src/app.ts';
import { loadCampaigns } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { contacts, conversions, customerEvents, jobs } from '../src/db/schema.ts';
import { simulatedClock, systemClock, type SimulatedClock } from '../src/domain/clock.ts';

// The HTTP app alone, on a real database, with the shipped campaigns: no consumer, runner or
// relay runs, so what it answers comes from the rows written here and the functions it is given.
const start = new Date('2026-11-20T09:00:00.000Z');
const thankYou = 'post-purchase-thank-you';

const CampaignList = z.object({
  now: z.string(),
  campaigns: z.array(z.looseObject({ id: z.string(), sent: z.number(), jobs: z.record(z.string(), z.number()) })),
});

let infra: TestInfra;
let runtime: Runtime;
let app: FastifyInstance;
let systemApp: FastifyInstance;
let clock: SimulatedClock;
let campaignsDir: string;
let joined = false;
/** The clock's time at each call of `fireDue`. */
const firedAt: string[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  campaignsDir = config.CAMPAIGNS_DIR;
  const { campaigns, sources } = await loadCampaigns(config.CAMPAIGNS_DIR);
  clock = simulatedClock(start);
  const fireDue = async (): Promise<number> => {
    firedAt.push(clock.now().toISOString());
    return 3;
  };
  app = createSchedulerApp({ runtime, campaigns, sources, clock, simulated: clock, fireDue, readiness: { consumers: () => joined } });
  systemApp = createSchedulerApp({ runtime, campaigns, clock: systemClock, fireDue, readiness: {} });
});

afterAll(async () => {
  await app?.close();
  await systemApp?.close();
  await runtime?.close();
});

const job = (key: string, status: string, skipReason: string | null = null) => ({
  dedupeKey: key,
  campaignId: thankYou,
  customerId: `cust-${key}`,
  triggerEventId: `event-${key}`,
  dueAt: start,
  status,
  skipReason,
  triggerData: {},
  firedAt: status === 'pending' ? null : start,
});

describe('the scheduler HTTP app, without its consumers', () => {
  it('answers /readyz from the checks it is given and the database', async () => {
    const before = await app.inject({ url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toEqual({ status: 'not ready', checks: { consumers: false, database: true } });
    joined = true;
    const after = await app.inject({ url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: 'ready', checks: { consumers: true, database: true } });
  });

  it('shows each campaign’s jobs, sends and revenue from the database', async () => {
    await runtime.db.insert(jobs).values([job('a', 'sent'), job('b', 'sent'), job('c', 'skipped', 'stale'), job('d', 'pending')]);
    await runtime.db.insert(conversions).values({ campaignId: thankYou, goalEventId: 'order-2', customerId: 'cust-a', dedupeKey: 'a', revenueMinor: 4_250, currency: 'USD', convertedAt: start });

    const list = await app.inject({ url: '/campaigns' });
    expect(list.statusCode).toBe(200);
    const body = CampaignList.parse(list.json());
    expect(body.now).toBe(start.toISOString());
    expect(body.campaigns.find((c) => c.id === thankYou)).toMatchObject({ jobs: { sent: 2, skipped: 1, pending: 1 }, sent: 2, skipped: 1, conversions: 1, revenue: { USD: 42.5 } });
    // The others have no jobs yet.
    expect(body.campaigns.filter((c) => c.id !== thankYou).every((c) => c.sent === 0 && Object.keys(c.jobs).length === 0)).toBe(true);
    const stats = await app.inject({ url: `/campaigns/${thankYou}/stats` });
    expect(stats.json()).toMatchObject({ pending: 1, sent: 2, skipped: { total: 1, byReason: { stale: 1 } }, conversions: 1 });

    const unknown = await app.inject({ url: '/campaigns/nope/stats' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'no campaign "nope"; GET /campaigns lists them' });
  });

  it('counts only what fired and converted inside a window when asked for one', async () => {
    const lastMonth = new Date(start.getTime() - 30 * 86_400_000);
    await runtime.db.insert(jobs).values({ ...job('old', 'sent'), firedAt: lastMonth });
    await runtime.db.insert(conversions).values({ campaignId: thankYou, goalEventId: 'order-old', customerId: 'cust-old', dedupeKey: 'old', revenueMinor: 1_000, currency: 'EUR', convertedAt: lastMonth });
    const window = (from: Date, to: Date) => app.inject({ url: `/campaigns?from=${from.toISOString()}&to=${to.toISOString()}` });

    const from = new Date(lastMonth.getTime() - 86_400_000);
    const to = new Date(lastMonth.getTime() + 86_400_000);
    const answer: unknown = (await window(from, to)).json();
    expect(answer).toMatchObject({ period: { from: from.toISOString(), to: to.toISOString() } });
    const before = CampaignList.parse(answer);
    // The pending job belongs to no window; the one fired then and its conversion do.
    expect(before.campaigns.find((c) => c.id === thankYou)).toMatchObject({ jobs: { sent: 1 }, sent: 1, skipped: 0, conversions: 1, revenue: { EUR: 10 } });
    const now = CampaignList.parse((await window(start, new Date(start.getTime() + 86_400_000))).json());
    expect(now.campaigns.find((c) => c.id === thankYou)).toMatchObject({ jobs: { sent: 2, skipped: 1 }, sent: 2, conversions: 1, revenue: { USD: 42.5 } });
    // All time: both.
    const all = CampaignList.parse((await app.inject({ url: '/campaigns' })).json());
    expect(all.campaigns.find((c) => c.id === thankYou)).toMatchObject({ sent: 3, conversions: 2, revenue: { USD: 42.5, EUR: 10 } });

    const half = await app.inject({ url: `/campaigns?from=${start.toISOString()}` });
    expect(half.statusCode).toBe(400);
    expect(JSON.stringify(half.json())).toContain('give both from and to');
    await runtime.db.delete(jobs).where(eq(jobs.dedupeKey, 'old'));
    await runtime.db.delete(conversions).where(eq(conversions.dedupeKey, 'old'));
  });

  it('shows one campaign with its stats, its file as in the repository and its sends per UTC day', async () => {
    const response = await app.inject({ url: `/campaigns/${thankYou}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: thankYou,
      pending: 1,
      sent: 2,
      skipped: { total: 1, byReason: { stale: 1 } },
      conversions: 1,
      revenue: { USD: 42.5 },
      templateId: thankYou,
      category: 'transactional',
      trigger: { event: 'Order Completed' },
      locales: [],
      file: `${thankYou}.yaml`,
      yaml: await readFile(join(campaignsDir, `${thankYou}.yaml`), 'utf8'),
      sendsByDay: [{ day: '2026-11-20', sent: 2, skipped: 1 }],
    });
    expect((await app.inject({ url: '/campaigns/loyalty-milestone' })).json()).toMatchObject({ locales: ['ja'], sendsByDay: [] });
    const unknown = await app.inject({ url: '/campaigns/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'no campaign "nope"; GET /campaigns lists them' });
  });

  it('finds a contact by email, shows it, lists its jobs and says why it got a campaign or not', async () => {
    const changedAt = new Date('2026-11-02T08:15:00.000Z');
    await runtime.db.insert(contacts).values({
      customerId: 'kim',
      email: 'Kim@Example.com',
      firstName: 'Kim',
      locale: 'de-DE',
      timeZone: 'Europe/Berlin',
      stage: 'retention',
      unsubscribed: true,
      consentState: 'unsubscribed',
      consentSequence: 2,
      subscriptionAsOf: changedAt,
      asOf: new Date('2026-11-01T10:00:00.000Z'),
    });
    await runtime.db.insert(customerEvents).values({ customerId: 'kim', event: 'Order Delivered', lastAt: new Date('2026-11-03T12:00:00.000Z') });
    await runtime.db.insert(jobs).values([
      { ...job('kim-thanks', 'sent'), customerId: 'kim', createdAt: new Date('2026-11-01T10:00:00.000Z'), triggerAt: new Date('2026-11-01T10:00:00.000Z') },
      {
        ...job('kim-review', 'skipped', 'unsubscribed'),
        campaignId: 'review-request',
        customerId: 'kim',
        category: 'marketing',
        skipDetail: 'unsubscribed on 2026-11-02',
        deferrals: 1,
        createdAt: new Date('2026-11-03T12:00:01.000Z'),
        triggerAt: new Date('2026-11-03T12:00:00.000Z'),
        dueAt: new Date('2026-11-10T09:00:00.000Z'),
        firedAt: new Date('2026-11-10T09:00:05.000Z'),
      },
    ]);

    expect((await app.inject({ url: '/contacts?email=kim@example.COM' })).json()).toEqual({ customerId: 'kim' });
    expect((await app.inject({ url: '/contacts?email=nobody@example.com' })).statusCode).toBe(404);
    const bad = await app.inject({ url: '/contacts?email=not-an-address' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe('email');
    // By name: first or full name containing the text, any case; `%` is a character, not a wildcard.
    expect((await app.inject({ url: '/contacts?name=KI' })).json()).toEqual({ contacts: [{ customerId: 'kim', firstName: 'Kim', name: null, email: 'Kim@Example.com' }], more: false });
    expect((await app.inject({ url: '/contacts?name=%25%25' })).json()).toEqual({ contacts: [], more: false });
    expect((await app.inject({ url: '/contacts?name=k' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/contacts' })).statusCode).toBe(400);

    expect((await app.inject({ url: '/contacts/kim' })).json()).toEqual({
      customerId: 'kim',
      email: 'Kim@Example.com',
      firstName: 'Kim',
      locale: 'de-DE',
      timeZone: 'Europe/Berlin',
      stage: 'retention',
      consent: { state: 'unsubscribed', marketingAllowed: false, asOf: changedAt.toISOString(), sequence: 2 },
      preferences: { topicsOptedOut: [], frequency: 'any' },
      engagement: { lastEngagedAt: null, rePermissionSentAt: null, sunsetAt: null },
      birthday: null,
      firstOrderDate: null,
      signupDate: null,
      asOf: '2026-11-01T10:00:00.000Z',
    });
    expect((await app.inject({ url: '/contacts/nobody' })).statusCode).toBe(404);

    expect((await app.inject({ url: '/customers/kim/jobs' })).json()).toEqual({
      jobs: [
        {
          dedupeKey: 'kim-review',
          campaignId: 'review-request',
          status: 'skipped',
          skipReason: 'unsubscribed',
          skipDetail: 'unsubscribed on 2026-11-02',
          dueAt: '2026-11-10T09:00:00.000Z',
          firedAt: '2026-11-10T09:00:05.000Z',
          createdAt: '2026-11-03T12:00:01.000Z',
          triggerAt: '2026-11-03T12:00:00.000Z',
          deferrals: 1,
          variant: null,
        },
        expect.objectContaining({ dedupeKey: 'kim-thanks', campaignId: thankYou, status: 'sent', firedAt: start.toISOString() }),
      ],
    });
    expect((await app.inject({ url: '/customers/nobody/jobs' })).statusCode).toBe(404);

    const why = (await app.inject({ url: '/customers/kim/why?campaign=review-request' })).json();
    expect(why).toMatchObject({
      campaignId: 'review-request',
      answer: 'Skipped: deferred once by the send window (quiet hours), then the customer does not allow marketing email: unsubscribed on 2026-11-02 (job fired at 2026-11-10 09:00 UTC).',
    });
    expect(why.facts).toContainEqual({ kind: 'trigger', text: 'The customer last did Order Delivered at 2026-11-03 12:00 UTC.', at: '2026-11-03T12:00:00.000Z' });
    expect((await app.inject({ url: `/customers/kim/why?campaign=${thankYou}` })).json().answer).toBe('Sent on 2026-11-20 (job fired at 2026-11-20 09:00 UTC).');
    expect((await app.inject({ url: '/customers/kim/why?campaign=browse-abandonment' })).json().answer).toBe(
      'Not planned: the customer does not allow marketing email (unsubscribed since 2026-11-02).',
    );
    const missing = await app.inject({ url: '/customers/kim/why' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().issues[0].field).toBe('campaign');
    expect((await app.inject({ url: '/customers/kim/why?campaign=nope' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/customers/nobody/why?campaign=review-request' })).statusCode).toBe(404);
  });

  it('describes its read API and the operations routes in an OpenAPI document at /docs', async () => {
    const doc = (await app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/campaigns/{id}', '/contacts', '/contacts/{id}', '/customers/{id}/jobs', '/customers/{id}/why', '/dead-letters', '/admin/consumer-lag']));
    expect((await app.inject({ url: '/docs' })).json()).toEqual(doc);
  });

  it('moves the simulated clock and answers once what became due has been fired', async () => {
    const later = '2026-11-21T09:00:00.000Z';
    const moved = await app.inject({ method: 'POST', url: '/admin/clock', payload: { now: later } });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toEqual({ now: later, fired: 3 });
    expect(firedAt).toEqual([later]);

    const backwards = await app.inject({ method: 'POST', url: '/admin/clock', payload: { now: start.toISOString() } });
    expect(backwards.statusCode).toBe(409);
    expect(firedAt).toHaveLength(1);
    expect((await app.inject({ url: '/admin/clock' })).json()).toEqual({ now: later, mode: 'simulated' });
  });

  it('refuses to set a system clock', async () => {
    const refused = await systemApp.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2030-01-01T00:00:00.000Z' } });
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toEqual({ error: 'the clock can be set only when the scheduler runs with CLOCK=simulated' });
    expect(firedAt).toHaveLength(1);
  });

  it('started no consumer: building the app joins no consumer group', async () => {
    const admin = infra.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      expect(groups.filter((g) => g.groupId.startsWith(infra.prefix))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
