import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MessageRequested } from '@lifecycle/contracts';
import { createPool } from '@lifecycle/kit';
import { startServiceProcess, type ServiceProcess } from '@lifecycle/tools/service-process';
import { collectTopic, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';

/**
 * The scheduler as real processes: two replicas sharing one database fire a large batch with no
 * double, and a replica killed in the middle of firing leaves nothing unfired after a restart.
 */

const clockStart = '2027-03-01T08:00:00.000Z';
let infra: TestInfra;
let pool: ReturnType<typeof createPool>;
let env: Record<string, string>;
const running: ServiceProcess[] = [];

async function startScheduler(): Promise<ServiceProcess> {
  const service = await startServiceProcess('scheduler', env, 90_000);
  running.push(service);
  return service;
}

async function setClock(service: ServiceProcess, now: string): Promise<number> {
  const res = await fetch(`${service.url}/admin/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ now }) });
  expect(res.status).toBe(200);
  return z.object({ fired: z.number() }).parse(await res.json()).fired;
}

/** `count` thank-you jobs for 1,000 customers, all due at `dueAt`, keys prefixed with `batch`. */
async function seedJobs(batch: string, count: number, dueAt: string): Promise<void> {
  await pool.query(
    `INSERT INTO scheduler.contacts (customer_id, email, first_name, as_of)
     SELECT 'c-' || g, 'c' || g || '@example.com', 'Customer ' || g, now() FROM generate_series(1, 1000) g
     ON CONFLICT DO NOTHING`,
  );
  await pool.query(
    `INSERT INTO scheduler.jobs (dedupe_key, campaign_id, customer_id, trigger_event_id, due_at, trigger_at, category, trigger_data)
     SELECT 'post-purchase-thank-you:c-' || (g % 1000 + 1) || ':' || $1 || '-' || g, 'post-purchase-thank-you', 'c-' || (g % 1000 + 1),
            $1 || '-' || g, $2, $2, 'transactional', jsonb_build_object('order', jsonb_build_object('orderId', 'o-' || g, 'products', '[]'::jsonb))
     FROM generate_series(1, $3::int) g`,
    [batch, dueAt, count],
  );
}

async function jobStatuses(batch: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM scheduler.jobs WHERE trigger_event_id LIKE $1 GROUP BY status', [`${batch}-%`]);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

function requestsOf(records: { value: string }[], batch: string): MessageRequested[] {
  return records.filter((r) => r.value.includes(`"causationId":"${batch}-`)).map((r) => MessageRequested.parse(JSON.parse(r.value)));
}

/** How many requests of the batch arrived so far: a cheap count for polling. */
function countOf(records: { value: string }[], batch: string): number {
  return records.filter((r) => r.value.includes(`"causationId":"${batch}-`)).length;
}

beforeAll(async () => {
  infra = await createTestInfra();
  pool = createPool(infra.databaseUrl, 2);
  const campaigns = await mkdtemp(join(tmpdir(), 'lifecycle-replicas-'));
  await writeFile(
    join(campaigns, 'post-purchase-thank-you.yaml'),
    'id: post-purchase-thank-you\nname: Thank you\ntemplate: post-purchase-thank-you\ncategory: transactional\ntrigger:\n  event: Order Completed\n',
  );
  // Firing starts when a test sets the clock, not on a poll, so each replica's answer counts its own share.
  env = { ...serviceEnv(infra), CAMPAIGNS_DIR: campaigns, CLOCK: 'simulated', CLOCK_START: clockStart, SCHEDULER_POLL_MS: '60000', SCHEDULER_BATCH_SIZE: '100', LOG_LEVEL: 'error' };
});

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
  await pool?.end();
});

describe('two scheduler replicas on one database', () => {
  it('fire 10,000 due jobs between them, each exactly once', async () => {
    const requested = await collectTopic(infra, 'messagesRequested');
    const [a, b] = [await startScheduler(), await startScheduler()];
    if (a === undefined || b === undefined) throw new Error('replicas did not start');
    await seedJobs('pair', 10_000, '2027-03-01T09:00:00.000Z');

    // Both replicas reach the due time together and claim batches side by side.
    const [firedA, firedB] = await Promise.all([setClock(a, '2027-03-01T09:00:00.000Z'), setClock(b, '2027-03-01T09:00:00.000Z')]);
    expect(await jobStatuses('pair')).toEqual({ sent: 10_000 });
    expect(firedA + firedB).toBeLessThanOrEqual(10_000);
    expect(firedA).toBeGreaterThan(0);
    expect(firedB).toBeGreaterThan(0);

    await eventually(() => expect(countOf(requested.records, 'pair')).toBeGreaterThanOrEqual(10_000), 60_000, 200);
    const messages = requestsOf(requested.records, 'pair');
    const perKey = new Map<string, number>();
    for (const m of messages) perKey.set(m.payload.dedupeKey, (perKey.get(m.payload.dedupeKey) ?? 0) + 1);
    expect(perKey.size).toBe(10_000);
    expect([...perKey.values()].filter((n) => n > 1)).toEqual([]);
    await requested.stop();
    await Promise.all([a.stop(), b.stop()]);
  }, 240_000);
});

describe('a scheduler killed while firing', () => {
  it('fires every due job after a restart, and a re-fired job repeats its dedupe key so messaging drops it', async () => {
    const requested = await collectTopic(infra, 'messagesRequested');
    const first = await startScheduler();
    await seedJobs('crash', 20_000, '2027-03-02T09:00:00.000Z');

    // Fire without waiting for the answer, and kill the process once firing is under way.
    const firing = setClock(first, '2027-03-02T09:00:00.000Z').catch(() => 0);
    await eventually(() => expect(countOf(requested.records, 'crash')).toBeGreaterThanOrEqual(1_000), 60_000, 5);
    await first.kill();
    await firing;
    const atCrash = await jobStatuses('crash');
    expect(atCrash['pending'] ?? 0).toBeGreaterThan(0);

    // The restarted replica (its simulated clock starts afresh, so it is told the time again)
    // finds the overdue jobs and fires them at once.
    const second = await startScheduler();
    await setClock(second, '2027-03-02T09:00:00.000Z');
    await eventually(async () => expect(await jobStatuses('crash')).toEqual({ sent: 20_000 }), 120_000, 250);
    await eventually(() => expect(countOf(requested.records, 'crash')).toBeGreaterThanOrEqual(20_000), 60_000, 200);
    const messages = requestsOf(requested.records, 'crash');
    expect(new Set(messages.map((m) => m.payload.dedupeKey)).size).toBe(20_000);
    // A batch published but not committed before the kill is fired again, byte for byte the
    // same request: same message id, same dedupe key. Nothing else repeats.
    const byKey = new Map<string, MessageRequested[]>();
    for (const m of messages) byKey.set(m.payload.dedupeKey, [...(byKey.get(m.payload.dedupeKey) ?? []), m]);
    const repeated = [...byKey.values()].filter((list) => list.length > 1);
    // At most what the outbox relay had published and not yet deleted at the kill: one relay
    // batch (500 rows), whatever the firing batches (two claim workers of 100 here).
    expect(repeated.length).toBeLessThanOrEqual(500);
    for (const list of repeated) {
      expect(new Set(list.map((m) => m.id)).size).toBe(1);
      expect(new Set(list.map((m) => JSON.stringify(m.payload))).size).toBe(1);
    }
    await requested.stop();
  }, 300_000);
});
