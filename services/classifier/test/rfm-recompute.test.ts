import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { LifecycleEvent, TimerFired } from '@lifecycle/contracts';
import { inTransaction, openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { edgeExamples, monetaryExamples, now } from '../src/domain/rfm-examples.ts';
import { scoreRfm, type CurrencyRates, type RfmInput } from '../src/domain/rfm.ts';
import { shippedThresholds } from './thresholds.ts';
import { recomputeRfm, requestRfmRecompute, rfmStep, runRfmRecompute } from '../src/rfm-recompute.ts';
import { startClassifier, type Classifier } from '../src/service.ts';
import { insertRfmInputs, rfmInputs, seedCustomers } from './seed-customers.ts';

const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
const settings = { batchSize: 3, statementTimeoutMs: 60_000 };

let infra: TestInfra;
let runtime: Runtime;

const Scores = z.object({
  customer_id: z.string(),
  rfm_recency: z.number().int().nullable(),
  rfm_frequency: z.number().int().nullable(),
  rfm_monetary: z.number().int().nullable(),
  rfm_currency: z.string().nullable(),
  rfm_segment: z.string().nullable(),
});
const Run = z.object({ phase: z.string(), scored: z.number().int(), skipped: z.number().int() });

/** Every profile's stored scores, in the pure function's shape. */
async function storedScores(): Promise<Map<string, unknown>> {
  const { rows } = await runtime.pool.query('SELECT customer_id, rfm_recency, rfm_frequency, rfm_monetary, rfm_currency, rfm_segment FROM classifier.profiles');
  return new Map(
    Scores.array()
      .parse(rows)
      .map((r) => [r.customer_id, { customerId: r.customer_id, recency: r.rfm_recency, frequency: r.rfm_frequency, monetary: r.rfm_monetary, monetaryCurrency: r.rfm_currency, segment: r.rfm_segment }]),
  );
}

/** What `scoreRfm` says for these customers, as stored scores. */
const expectedScores = (customers: RfmInput[], rates: CurrencyRates | undefined): Map<string, unknown> => new Map(scoreRfm(customers, now, rates).map((s) => [s.customerId, s]));

const latestRun = async () => Run.parse((await runtime.pool.query('SELECT phase, scored, skipped FROM classifier.rfm_runs ORDER BY id DESC LIMIT 1')).rows[0]);

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openRuntime({ service: 'classifier', config: loadConfig({ ...serviceEnv(infra), PORT: '0' }), schema: 'classifier', migrationsFolder });
});

afterAll(async () => {
  await runtime?.close();
});

describe('the RFM recompute in SQL', () => {
  const examples = [...edgeExamples, ...monetaryExamples];
  it.each(examples)('scores "$name" as the pure rules do', async ({ customers, rates }) => {
    await runtime.pool.query('TRUNCATE classifier.profiles');
    await insertRfmInputs(runtime.db, customers);
    // Batches of three: every phase resumes from its cursor several times.
    expect(await recomputeRfm(runtime.pool, now, rates, settings)).toBe(customers.length);
    expect(await storedScores()).toEqual(expectedScores(customers, rates));
  });

  it('takes no score from a customer whose orders were all refunded since', async () => {
    await runtime.pool.query('TRUNCATE classifier.profiles');
    const [first, ...rest] = edgeExamples[0]!.customers;
    await insertRfmInputs(runtime.db, [first!, ...rest]);
    await recomputeRfm(runtime.pool, now, undefined, settings);
    await runtime.pool.query("UPDATE classifier.profiles SET last_order_at = NULL, order_count = 0, data = jsonb_set(data, '{orders}', '[]') WHERE customer_id = $1", [first!.customerId]);
    expect(await recomputeRfm(runtime.pool, now, undefined, settings)).toBe(rest.length);
    expect((await storedScores()).get(first!.customerId)).toEqual({ customerId: first!.customerId, recency: null, frequency: null, monetary: null, monetaryCurrency: null, segment: null });
    expect(await storedScores()).toEqual(new Map([[first!.customerId, expect.anything()], ...expectedScores(rest, undefined)]));
  });

  it('never waits for a profile a consumer holds: skips it, and scores it once the consumer is done', async () => {
    await runtime.pool.query('TRUNCATE classifier.profiles');
    const { customers } = edgeExamples[0]!;
    await insertRfmInputs(runtime.db, customers);
    await inTransaction(runtime.pool, (tx) => requestRfmRecompute(tx, now));
    const held = await runtime.pool.connect();
    try {
      // A consumer's transaction holding c4's row, as loadProfilesForUpdate does.
      await held.query('BEGIN');
      await held.query("SELECT 1 FROM classifier.profiles WHERE customer_id = 'c4' FOR UPDATE");
      while ((await latestRun()).phase !== 'retry') {
        const step = await Promise.race([rfmStep(runtime.pool, settings, undefined), new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 5_000).unref())]);
        expect(step).not.toBe('stuck');
      }
      expect(await latestRun()).toMatchObject({ skipped: 1 });
      const scores = await storedScores();
      expect(scores.get('c4')).toMatchObject({ segment: null });
      expect(scores.get('c3')).toEqual(expectedScores(customers, undefined).get('c3'));
    } finally {
      await held.query('COMMIT');
      held.release();
    }
    await runRfmRecompute(runtime.pool, { ...settings, budgetMs: Number.POSITIVE_INFINITY }, undefined);
    expect(await latestRun()).toMatchObject({ phase: 'done', scored: 10 });
    expect(await storedScores()).toEqual(expectedScores(customers, undefined));
  });
});

describe('the RFM recompute over 20,000 customers', () => {
  const rates = { base: 'EUR', rates: { USD: 0.92, JPY: 0.0062 } };
  let service: Classifier | undefined;
  let producer: Producer | undefined;

  beforeAll(async () => {
    await runtime.pool.query('TRUNCATE classifier.profiles');
    await seedCustomers(runtime.db, { count: 20_000, from: '2025-01-01T00:00:00.000Z' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([producer?.disconnect(), service?.stop()]);
  });

  it('gives every customer the scores the pure rules give, converting with the rates', async () => {
    expect(await recomputeRfm(runtime.pool, now, rates, { batchSize: 1_000 })).toBe(20_000);
    const expected = expectedScores(await rfmInputs(runtime.db), rates);
    const stored = await storedScores();
    // Not a sample: every customer, so a disagreement names who.
    const differing = [...expected].filter(([id, score]) => JSON.stringify(stored.get(id)) !== JSON.stringify(score));
    expect(differing.slice(0, 5).map(([id, score]) => ({ id, expected: score, stored: stored.get(id) }))).toEqual([]);
    // Every score and segment occurs: the comparison is not between two sets of blanks.
    const values = [...stored.values()].map((s) => JSON.stringify(s));
    for (const segment of ['champions', 'loyal', 'potential_loyalists', 'needs_attention', 'at_risk', 'hibernating']) expect(values.some((v) => v.includes(`"${segment}"`))).toBe(true);
  }, 60_000);

  it('keeps the consumers consuming while a recompute works through the base', async () => {
    // Slow on purpose: one batch of 250 per run, runs a second apart; gathering 20,000 customers
    // alone takes 80 runs, far longer than the consumers need even on a loaded machine.
    service = await startClassifier(runtime, { ...shippedThresholds, currencies: rates }, { batchSize: 250, budgetMs: 1, pollMs: 1_000, statementTimeoutMs: 60_000 });
    producer = await connectedProducer(infra);
    const fireAt = '2027-01-01T00:00:00.000Z';
    const fired: TimerFired = {
      id: `timer:classifier:rfm@${fireAt}`,
      type: 'timer.fired',
      version: 1,
      occurredAt: fireAt,
      customerId: 'classifier:rfm',
      causationId: 'rfm-request',
      payload: { timerId: 'classifier:rfm', owner: 'classifier', fireAt, data: {} },
    };
    await publish(producer, infra.prefix, 'timersFired', [fired]);
    await eventually(async () => expect((await latestRun()).phase).toMatch(/gather|rank|apply/));

    // Orders from seeded customers (rows the recompute is scoring) and from new ones.
    const orderEvent = (customerId: string, n: number): LifecycleEvent => {
      const id = `late-${customerId}-${n}`;
      const at = '2026-12-30T12:00:00.000Z';
      return {
        id,
        type: 'commerce.event',
        version: 1,
        occurredAt: at,
        customerId,
        causationId: id,
        payload: { call: { type: 'track', messageId: id, timestamp: at, userId: customerId, event: 'Order Completed', properties: { order_id: id, total: 25, currency: 'EUR', products: [] }, normalized: { timestampOffset: 'Z', money: { currency: 'EUR', amounts: { total: 2_500 } } } } },
      };
    };
    const events = Array.from({ length: 100 }, (_, n) => orderEvent(n % 2 === 0 ? `seed-${String(1 + n * 199).padStart(6, '0')}` : `new-${n}`, n));
    for (let i = 0; i < events.length; i += 10) await publish(producer, infra.prefix, 'lifecycleEvents', events.slice(i, i + 10));
    const handled = async () => Number((await runtime.db.execute(sql`SELECT count(*)::int AS n FROM classifier.processed_events WHERE event_id LIKE 'late-%'`)).rows[0]?.['n']);
    await eventually(async () => expect(await handled()).toBe(100), 30_000);
    // All handled, and the recompute is still going: the consumers did not wait for it.
    expect((await latestRun()).phase).toMatch(/gather|rank|apply|retry|clear/);
    const seeded = await runtime.pool.query("SELECT order_count FROM classifier.profiles WHERE customer_id = 'seed-000001'");
    expect(seeded.rows[0]).toEqual({ order_count: 3 });

    // Finish it without waiting for the slow worker: both take turns on the same run.
    await runRfmRecompute(runtime.pool, { batchSize: 5_000, budgetMs: Number.POSITIVE_INFINITY, statementTimeoutMs: 60_000 }, rates);
    expect(await latestRun()).toMatchObject({ phase: 'done' });
    const { rows } = await runtime.pool.query("SELECT count(*)::int AS n FROM classifier.profiles WHERE customer_id LIKE 'seed-%' AND rfm_at = $1", [fireAt]);
    expect(rows[0]).toEqual({ n: 20_000 });
  }, 90_000);
});
