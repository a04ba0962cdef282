import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivacyCompleted, type LifecycleEvent, type PrivacyKind, type PrivacyRequested } from '@lifecycle/contracts';
import { openRuntime, publish, runMigrations, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { customerHash, keptTables, privacyTables } from '../src/privacy.ts';
import { resetClassifier } from '../src/rebuild.ts';
import { startClassifier, type Classifier } from '../src/service.ts';
import { loadThresholds } from '../src/thresholds-file.ts';

/**
 * The classifier's part of a privacy request, on the real broker and database: the profile and
 * everything about it goes, only a SHA-256 of the id stays with the erase time, and neither a
 * replayed event from before the erase nor a rebuild brings the profile back.
 */

const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
let infra: TestInfra;
let runtime: Runtime;
let service: Classifier;
let producer: Producer;
let responses: Awaited<ReturnType<typeof collectTopic>>;

const now = Date.now();
const at = (hours: number): string => new Date(now + hours * 3_600_000).toISOString();

function track(id: string, customerId: string, event: string, when: string, properties: Record<string, unknown> = {}): LifecycleEvent {
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: when,
    customerId,
    causationId: id,
    payload: { call: { type: 'track', messageId: id, timestamp: when, userId: customerId, event, properties, context: { traits: { email: `${customerId}@example.com`, first_name: 'Kim' } } } },
  };
}
const order = (id: string, customerId: string, when: string) => track(id, customerId, 'Order Completed', when, { order_id: id, total: 20, currency: 'USD', products: [] });

function request(requestId: string, customerId: string, kind: PrivacyKind): PrivacyRequested {
  return { id: `privacy:${requestId}`, type: 'privacy.requested', version: 1, occurredAt: new Date(now).toISOString(), customerId, causationId: `privacy:${requestId}`, payload: { requestId, kind, requestedBy: 'test' } };
}

function answers(requestId: string): PrivacyCompleted[] {
  return responses.records.map((r) => PrivacyCompleted.parse(JSON.parse(r.value))).filter((c) => c.payload.requestId === requestId);
}

async function answered(requestId: string, n = 1): Promise<PrivacyCompleted> {
  return eventually(() => {
    const all = answers(requestId);
    expect(all).toHaveLength(n);
    return all[n - 1]!;
  }, 30_000);
}

interface CustomerView {
  profile: { email: string | null; firstSeenAt: string; orderCount: number };
}

async function customer(id: string): Promise<CustomerView | null> {
  const res = await service.app.inject({ url: `/customers/${id}` });
  return res.statusCode === 404 ? null : res.json<CustomerView>();
}

async function rows(table: string, customerId: string): Promise<number> {
  const { rows: found } = await runtime.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM classifier.${table} WHERE customer_id = $1`, [customerId]);
  return found[0]?.n ?? 0;
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'classifier', config, schema: 'classifier', migrationsFolder });
  service = await startClassifier(runtime, await loadThresholds(config.LIFECYCLE_CONFIG));
  producer = await connectedProducer(infra);
  responses = await collectTopic(infra, 'privacyResponses');
}, 60_000);

afterAll(async () => {
  await responses?.stop();
  await producer?.disconnect();
  await service?.stop();
  await runtime?.close();
});

describe('privacy requests in the classifier', () => {
  it('exports the profile and its stage history', async () => {
    await publish(producer, infra.prefix, 'lifecycleEvents', [order('pv-a1', 'pv-ann', at(-48)), order('pv-b1', 'pv-bob', at(-48))]);
    await eventually(async () => expect((await customer('pv-ann'))?.profile.orderCount).toBe(1), 30_000);
    await eventually(async () => expect((await customer('pv-bob'))?.profile.orderCount).toBe(1), 30_000);

    await publish(producer, infra.prefix, 'privacyRequests', [request('export-ann', 'pv-ann', 'export')]);
    const done = await answered('export-ann');
    expect(done.payload).toMatchObject({ service: 'classifier', kind: 'export', summary: { 'classifier.profiles': 1, 'classifier.stage_history': 1 } });
    const data = done.payload.data as { profiles: { customer_id: string; email: string }[] };
    expect(data.profiles).toEqual([expect.objectContaining({ customer_id: 'pv-ann', email: 'pv-ann@example.com' })]);
    expect(await customer('pv-ann')).not.toBeNull();
  });

  it('erases the profile and its history, keeps only the id’s hash, and a redelivered erase changes nothing', async () => {
    await publish(producer, infra.prefix, 'privacyRequests', [request('erase-ann', 'pv-ann', 'erase')]);
    const done = await answered('erase-ann');
    expect(done.payload.summary).toMatchObject({ 'classifier.profiles': 1, 'classifier.stage_history': 1 });
    expect(done.payload.kept).toEqual([expect.stringContaining('SHA-256')]);
    expect(await customer('pv-ann')).toBeNull();
    expect(await rows('stage_history', 'pv-ann')).toBe(0);
    const { rows: kept } = await runtime.pool.query('SELECT customer_hash, erased_at FROM classifier.erased_customers');
    expect(kept).toEqual([{ customer_hash: customerHash('pv-ann'), erased_at: new Date(now) }]);
    expect((await customer('pv-bob'))?.profile.orderCount).toBe(1);

    await publish(producer, infra.prefix, 'privacyRequests', [request('erase-ann', 'pv-ann', 'erase')]);
    const again = await answered('erase-ann', 2);
    expect(again.id).toBe(done.id);
    expect(Object.values(again.payload.summary).every((n) => n === 0)).toBe(true);
  });

  it('skips an event from before the erase (a replay), and a later one starts a new, empty profile', async () => {
    // Published after the erase, but it happened before it: a replay of the erased customer's past.
    await publish(producer, infra.prefix, 'lifecycleEvents', [order('pv-a0', 'pv-ann', at(-72)), track('pv-a2', 'pv-ann', 'Product Viewed', at(1), { product_id: 'p-1' })]);
    const fresh = await eventually(async () => {
      const view = await customer('pv-ann');
      expect(view).not.toBeNull();
      return view!;
    }, 30_000);
    expect(fresh.profile.orderCount).toBe(0);
    expect(fresh.profile.firstSeenAt).toBe(at(1));
  });

  it('a rebuild keeps the erased hashes: the replay skips the erased past, and brings back everything else', async () => {
    await service.stop();
    expect(await resetClassifier({ kafka: infra.kafka, pool: runtime.pool, prefix: infra.prefix })).toMatchObject({ ok: true });
    await runMigrations(infra.databaseUrl, { schema: 'classifier', migrationsFolder });
    const { rows: kept } = await runtime.pool.query('SELECT customer_hash FROM classifier.erased_customers');
    expect(kept).toEqual([{ customer_hash: customerHash('pv-ann') }]);
    expect((await runtime.pool.query("SELECT 1 FROM pg_namespace WHERE nspname = 'classifier_kept'")).rowCount).toBe(0);

    service = await startClassifier(runtime, await loadThresholds(loadConfig({}).LIFECYCLE_CONFIG));
    await eventually(async () => expect((await customer('pv-bob'))?.profile.orderCount).toBe(1), 30_000);
    const ann = await eventually(async () => {
      const view = await customer('pv-ann');
      expect(view).not.toBeNull();
      return view!;
    }, 30_000);
    expect(ann.profile).toMatchObject({ orderCount: 0, firstSeenAt: at(1) });
  });

  it('decides for every table of its schema: erased, or kept for a stated reason', async () => {
    const { rows: tables } = await runtime.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'classifier' ORDER BY 1");
    const decided = [...privacyTables('').map((t) => t.table), ...Object.keys(keptTables)].sort();
    expect(tables.map((r) => r.table_name)).toEqual(decided);
  });
});
