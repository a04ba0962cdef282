import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, followClock, openRuntime, type FollowedClock, type Runtime } from '@lifecycle/kit';
import { createTestInfra, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadCampaigns, type CampaignSet } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * The scheduler owns the simulated clock: each move goes out on `system.clock` before it takes
 * effect, the clock it starts with too, and a restart resumes from the latest one published.
 */

let infra: TestInfra;
let runtime: Runtime;
let shipped: CampaignSet;
let follower: FollowedClock;
const started: Scheduler[] = [];
// Relative to now: nothing here depends on the date the test runs.
const T0 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 40 * 86_400_000);
const later = (days: number) => new Date(T0.getTime() + days * 86_400_000);

async function scheduler(start: Date, resumeClock = false): Promise<Scheduler> {
  const clock = simulatedClock(start);
  const s = await startScheduler({ runtime, ...shipped, clock, simulated: clock, resumeClock, pollMs: 60_000 });
  started.push(s);
  return s;
}

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openRuntime({ service: 'scheduler', config: loadConfig({ ...serviceEnv(infra), PORT: '0' }), schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger: createLogger('scheduler', 'silent') });
  shipped = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
  follower = followClock({ kafka: infra.kafka, prefix: infra.prefix, logger: createLogger('test', 'silent'), start: new Date(0) });
  await follower.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await follower?.stop();
  await runtime?.close();
});

describe('the simulated clock, shared', () => {
  it('publishes the clock it starts with and every move, for the services that follow it', async () => {
    const s = await scheduler(T0);
    await follower.reached(T0);
    const res = await s.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: later(7).toISOString() } });
    expect(res.statusCode).toBe(200);
    await follower.reached(later(7));
    expect(follower.now()).toEqual(later(7));
  });

  it('refuses to move backwards, and publishes nothing then', async () => {
    const s = started[0];
    if (s === undefined) throw new Error('no scheduler');
    const res = await s.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: later(1).toISOString() } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: `the clock is at ${later(7).toISOString()} and does not run backwards` });
    expect(follower.now()).toEqual(later(7));
  });

  it('resumes from the clock last published when restarted with an earlier start', async () => {
    await started.shift()?.stop();
    const restarted = await scheduler(T0, true);
    expect((await restarted.app.inject({ url: '/admin/clock' })).json()).toEqual({ now: later(7).toISOString(), mode: 'simulated' });
  });
});
