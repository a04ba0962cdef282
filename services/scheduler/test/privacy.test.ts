import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivacyCompleted, topicName, type PrivacyKind, type PrivacyRequested } from '@lifecycle/contracts';
import { createOutbox, inTransaction, openRuntime, outboxRelay, type Component, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { actOnPrivacyRequest, keptTables, privacyConsumer, privacyTables } from '../src/privacy.ts';

/**
 * The scheduler's part of a privacy request, on the real broker and database: its privacy
 * consumer and outbox relay read `privacy.requests` and answer on `privacy.responses`.
 */

let infra: TestInfra;
let runtime: Runtime;
let producer: Producer;
let responses: Awaited<ReturnType<typeof collectTopic>>;
const components: Component[] = [];
const at = new Date(Date.now() - 60_000);

function request(requestId: string, customerId: string, kind: PrivacyKind): PrivacyRequested {
  return { id: `privacy:${requestId}`, type: 'privacy.requested', version: 1, occurredAt: new Date().toISOString(), customerId, causationId: `privacy:${requestId}`, payload: { requestId, kind, requestedBy: 'test' } };
}

async function ask(r: PrivacyRequested): Promise<void> {
  await producer.send({ topic: topicName(infra.prefix, 'privacyRequests'), messages: [{ key: r.customerId, value: JSON.stringify(r) }] });
}

/** The confirmations of a request so far. */
function answers(requestId: string): PrivacyCompleted[] {
  return responses.records.map((r) => PrivacyCompleted.parse(JSON.parse(r.value))).filter((c) => c.payload.requestId === requestId);
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await runtime.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0]?.n ?? 0;
}

/** A row in every table the scheduler keeps about a customer. */
async function seed(customerId: string): Promise<void> {
  const q = (text: string): Promise<unknown> => runtime.pool.query(text, [customerId, at]);
  await q(`INSERT INTO scheduler.contacts (customer_id, email, first_name, name, as_of) VALUES ($1, $1 || '@example.com', 'Kim', 'Kim Lee', $2)`);
  await q(`INSERT INTO scheduler.jobs (dedupe_key, campaign_id, customer_id, trigger_event_id, due_at, trigger_data) VALUES ('thanks:' || $1, 'thanks', $1, 'ev-' || $1, $2, jsonb_build_object('email', $1 || '@example.com'))`);
  await q(`INSERT INTO scheduler.conversions (campaign_id, goal_event_id, customer_id, dedupe_key, converted_at) VALUES ('thanks', 'goal-' || $1, $1, 'thanks:' || $1, $2)`);
  await q(`INSERT INTO scheduler.customer_events (customer_id, event, last_at) VALUES ($1, 'Order Completed', $2)`);
  await q(`INSERT INTO scheduler.timers (timer_id, owner, customer_id, fire_at, data, request_id) VALUES ('classifier:silence:' || $1, 'classifier', $1, $2, '{}', 'req-' || $1)`);
  await q(`INSERT INTO scheduler.catalog_order_lines (order_id, product_id, customer_id, ordered_at) VALUES ('o-' || $1, 'p-1', $1, $2)`);
  await q(`INSERT INTO scheduler.catalog_reorder_gaps (product_id, customer_id, ordered_at, gap_days) VALUES ('p-1', $1, $2, 30)`);
  await q(`INSERT INTO scheduler.catalog_interests (customer_id, product_id, kind, last_at) VALUES ($1, 'p-1', 'viewed', $2)`);
}

const customerTables = ['contacts', 'jobs', 'conversions', 'customer_events', 'timers', 'catalog_order_lines', 'catalog_reorder_gaps', 'catalog_interests'];

/** The customer's rows per table. */
async function held(customerId: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const table of customerTables) found[table] = await count(`scheduler.${table} WHERE customer_id = $1`, [customerId]);
  return found;
}

const all = (n: number): Record<string, number> => Object.fromEntries(customerTables.map((t) => [t, n]));

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'scheduler', prefix: runtime.prefix, logger: runtime.logger });
  components.push(outboxRelay(outbox), privacyConsumer(runtime, outbox));
  for (const c of components) await c.start();
  producer = await connectedProducer(infra);
  responses = await collectTopic(infra, 'privacyResponses');
}, 60_000);

afterAll(async () => {
  await responses?.stop();
  await producer?.disconnect();
  for (const c of [...components].reverse()) await c.stop();
  await runtime?.close();
});

describe('privacy requests in the scheduler', () => {
  it('exports the contact, jobs, conversions, events, timers and catalog rows of the customer', async () => {
    await seed('ps-ann');
    await seed('ps-bob');
    await ask(request('export-ann', 'ps-ann', 'export'));
    const [done] = await eventually(() => {
      expect(answers('export-ann')).toHaveLength(1);
      return answers('export-ann');
    }, 30_000);
    expect(done?.payload).toMatchObject({ service: 'scheduler', kind: 'export', summary: Object.fromEntries(customerTables.map((t) => [`scheduler.${t}`, 1])) });
    const data = done?.payload.data as Record<string, { customer_id: string }[]>;
    expect(data.contacts).toEqual([expect.objectContaining({ customer_id: 'ps-ann', email: 'ps-ann@example.com', name: 'Kim Lee' })]);
    for (const table of customerTables) expect(data[table]?.map((r) => r.customer_id)).toEqual(['ps-ann']);
    // An export changes nothing.
    expect(await held('ps-ann')).toEqual(all(1));
  });

  it('erases them, leaves other customers alone, and a redelivered erase confirms again changing nothing', async () => {
    await ask(request('erase-ann', 'ps-ann', 'erase'));
    const [done] = await eventually(() => {
      expect(answers('erase-ann')).toHaveLength(1);
      return answers('erase-ann');
    }, 30_000);
    expect(done?.id).toBe('erase-ann:scheduler');
    expect(done?.payload.summary).toMatchObject(Object.fromEntries(customerTables.map((t) => [`scheduler.${t}`, 1])));
    expect(done?.payload.data).toBeUndefined();
    expect(await held('ps-ann')).toEqual(all(0));
    expect(await held('ps-bob')).toEqual(all(1));

    await ask(request('erase-ann', 'ps-ann', 'erase'));
    const again = await eventually(() => {
      expect(answers('erase-ann')).toHaveLength(2);
      return answers('erase-ann')[1];
    }, 30_000);
    expect(again?.id).toBe('erase-ann:scheduler');
    expect(Object.values(again?.payload.summary ?? {}).every((n) => n === 0)).toBe(true);
    expect(await held('ps-bob')).toEqual(all(1));
  });

  it('removes the customer’s message requests still waiting in the outbox, but not a pending privacy record', async () => {
    const pending = [
      [topicName(infra.prefix, 'messagesRequested'), 'pr-cy', '{"traits":{"email":"cy@example.com"}}'],
      [topicName(infra.prefix, 'messagesRequested'), 'pr-dee', '{"traits":{"email":"dee@example.com"}}'],
      [topicName(infra.prefix, 'privacyResponses'), 'pr-cy', '{"earlier":"confirmation"}'],
    ];
    const erased = await inTransaction(runtime.pool, async (tx) => {
      // Inserted and erased in one transaction the relay never sees: the rows stay pending throughout.
      for (const [topic, key, value] of pending) await tx.execute(sql`INSERT INTO scheduler.outbox (topic, key, value, created_at) VALUES (${topic}, ${key}, ${value}, now())`);
      const done = await actOnPrivacyRequest(tx, infra.prefix, request('erase-cy', 'pr-cy', 'erase'));
      const { rows } = await tx.execute<{ key: string; topic: string }>(sql`SELECT key, topic FROM scheduler.outbox ORDER BY id`);
      await tx.execute(sql`DELETE FROM scheduler.outbox`);
      return { done, left: rows };
    });
    expect(erased.done.payload.summary['scheduler.outbox']).toBe(1);
    expect(erased.left).toEqual([
      { key: 'pr-dee', topic: topicName(infra.prefix, 'messagesRequested') },
      { key: 'pr-cy', topic: topicName(infra.prefix, 'privacyResponses') },
    ]);
  });

  it('decides for every table of its schema: erased, or kept for a stated reason', async () => {
    const { rows } = await runtime.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'scheduler' ORDER BY 1");
    const decided = [...privacyTables('').map((t) => t.table), ...Object.keys(keptTables)].sort();
    expect(rows.map((r) => r.table_name)).toEqual(decided);
  });
});
