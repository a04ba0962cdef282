import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openRuntime, type FastifyInstance, type Runtime } from '@lifecycle/kit';
import { createTestInfra, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { createSchedulerApp } from '../src/app.ts';
import { loadCampaigns } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { conversions, jobs } from '../src/db/schema.ts';
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
let joined = false;
/** The clock's time at each call of `fireDue`. */
const firedAt: string[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  const { campaigns } = await loadCampaigns(config.CAMPAIGNS_DIR);
  clock = simulatedClock(start);
  const fireDue = async (): Promise<number> => {
    firedAt.push(clock.now().toISOString());
    return 3;
  };
  app = createSchedulerApp({ runtime, campaigns, clock, simulated: clock, fireDue, readiness: { consumers: () => joined } });
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
