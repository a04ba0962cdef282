import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { createLogger, openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadCampaigns, type CampaignSet } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';
import { campaignSetFingerprint } from '../src/startup-reconciliation.ts';

/**
 * The start-up reconciliation on the real broker and database: a date campaign added to the files
 * reaches the customers known before, a restart with the same files does not redo the pass, and
 * replicas starting side by side do it once.
 */

const T0 = new Date('2027-03-01T12:00:00.000Z');
let infra: TestInfra;
let runtime: Runtime;
let producer: Producer;
let shipped: CampaignSet;
const logOutput: string[] = [];

function identify(customerId: string, traits: { timezone?: string; birthday?: string }): LifecycleEvent {
  const id = `identify-${customerId}`;
  const at = new Date(T0.getTime() - 3_600_000).toISOString();
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: id,
    payload: {
      call: { type: 'identify', messageId: id, timestamp: at, userId: customerId, traits: { email: `${customerId}@example.com` }, normalized: { timestampOffset: 'Z', traits } },
    },
  };
}

const withoutBirthday = (set: CampaignSet): CampaignSet => ({ ...set, campaigns: set.campaigns.filter((c) => c.id !== 'birthday') });
const start = (set: CampaignSet): Promise<Scheduler> => {
  const clock = simulatedClock(T0);
  return startScheduler({ runtime, ...set, clock, simulated: clock, pollMs: 60_000 });
};
const reconciliations = async () => (await runtime.pool.query<{ planned: number; cancelled: number }>('SELECT planned, cancelled FROM scheduler.reconciliations ORDER BY id')).rows;
const birthdayJobs = async () =>
  (await runtime.pool.query<{ customer_id: string; status: string; due_at: Date }>("SELECT customer_id, status, due_at FROM scheduler.jobs WHERE campaign_id = 'birthday' ORDER BY customer_id, status")).rows;

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  const memory = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logOutput.push(chunk.toString());
      done();
    },
  });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger: createLogger('scheduler', 'info', memory) });
  producer = await connectedProducer(infra);
  shipped = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  await runtime?.close();
});

describe('the campaign set fingerprint', () => {
  it('is the same for the same campaigns in another order, and changes with any definition or setting', () => {
    const base = campaignSetFingerprint(shipped.campaigns, shipped.settings);
    expect(campaignSetFingerprint([...shipped.campaigns].reverse(), shipped.settings)).toBe(base);
    const edited = shipped.campaigns.map((c) => (c.id === 'birthday' ? { ...c, delay: { kind: 'local' as const, days: 0, at: '10:00' } } : c));
    expect(campaignSetFingerprint(edited, shipped.settings)).not.toBe(base);
    expect(campaignSetFingerprint(shipped.campaigns.map((c) => (c.id === 'birthday' ? { ...c, enabled: false } : c)), shipped.settings)).not.toBe(base);
    expect(campaignSetFingerprint(shipped.campaigns, { ...shipped.settings, storeTimeZone: 'Europe/Berlin' })).not.toBe(base);
  });
});

describe('reconciling the schedule with the campaign files at start-up', () => {
  it('plans a birthday campaign added to the files for the customers known before, in their own zones', async () => {
    const before = await start(withoutBirthday(shipped));
    const people = [identify('tokyo', { birthday: '1990-05-10', timezone: 'Asia/Tokyo' }), identify('berlin', { birthday: '1985-03-02', timezone: 'Europe/Berlin' }), identify('nobday', {})];
    await publish(producer, infra.prefix, 'lifecycleEvents', people, { at: new Date(T0.getTime() - 3_600_000) });
    await eventually(async () => {
      const { rows } = await runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler.contacts');
      expect(rows[0]?.n).toBe(3);
    });
    await before.stop();
    expect(await birthdayJobs()).toEqual([]);

    const after = await start(shipped);
    await after.stop();
    expect(await birthdayJobs()).toEqual([
      { customer_id: 'berlin', status: 'pending', due_at: new Date('2027-03-02T08:00:00.000Z') },
      { customer_id: 'tokyo', status: 'pending', due_at: new Date('2027-05-10T00:00:00.000Z') },
    ]);
    expect((await reconciliations()).map((r) => r.planned)).toEqual([0, 2]);
  });

  it('does not redo the pass when restarted with the same files', async () => {
    const lines = logOutput.length;
    const again = await start(shipped);
    await again.stop();
    expect(await reconciliations()).toHaveLength(2);
    expect(logOutput.slice(lines).join('')).toContain('campaign set unchanged since the last reconciliation, skipped');
  });

  it('reconciles once when two replicas start side by side with changed files', async () => {
    const disabled: CampaignSet = { ...shipped, campaigns: shipped.campaigns.map((c) => (c.id === 'birthday' ? { ...c, enabled: false } : c)) };
    const replicas = await Promise.all([start(disabled), start(disabled)]);
    await Promise.all(replicas.map((r) => r.stop()));
    expect(await reconciliations()).toEqual([
      { planned: 0, cancelled: 0 },
      { planned: 2, cancelled: 0 },
      { planned: 0, cancelled: 2 },
    ]);
    expect((await birthdayJobs()).map((j) => `${j.customer_id} ${j.status}`)).toEqual(['berlin cancelled', 'tokyo cancelled']);
  });
});
