import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivacyCompleted, topicName, type PrivacyKind, type PrivacyRequested } from '@lifecycle/contracts';
import { createOutbox, inTransaction, openRuntime, outboxRelay, type Component, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { actOnPrivacyRequest, keptTables, privacyConsumer, privacyTables } from '../src/privacy.ts';

/**
 * Ingestion's part of a privacy request, on the real broker and database: its privacy consumer
 * and outbox relay read `privacy.requests` and answer on `privacy.responses`.
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

async function seed(customerId: string, anonymousId: string): Promise<void> {
  await runtime.pool.query('INSERT INTO ingestion.seen_messages (message_id, customer_id, first_seen_at) VALUES ($1, $2, $3), ($4, $5, $3)', [`m1-${customerId}`, customerId, at, `m0-${customerId}`, anonymousId]);
  await runtime.pool.query('INSERT INTO ingestion.identity_links (anonymous_id, user_id, message_id, linked_at) VALUES ($1, $2, $3, $4)', [anonymousId, customerId, `m1-${customerId}`, at]);
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'ingestion', config, schema: 'ingestion', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'ingestion', prefix: runtime.prefix, logger: runtime.logger });
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

describe('privacy requests in ingestion', () => {
  it('exports the calls seen of the customer and of the anonymous id linked to them', async () => {
    await seed('pr-ann', 'anon-ann');
    await seed('pr-bob', 'anon-bob');
    await ask(request('export-ann', 'pr-ann', 'export'));
    const [done] = await eventually(() => {
      expect(answers('export-ann')).toHaveLength(1);
      return answers('export-ann');
    }, 30_000);
    expect(done?.payload).toMatchObject({ service: 'ingestion', kind: 'export', summary: { 'ingestion.seen_messages': 2, 'ingestion.identity_links': 1 } });
    const data = done?.payload.data as { seen_messages: { message_id: string }[]; identity_links: { anonymous_id: string }[] };
    expect(data.seen_messages.map((r) => r.message_id).sort()).toEqual(['m0-pr-ann', 'm1-pr-ann']);
    expect(data.identity_links.map((r) => r.anonymous_id)).toEqual(['anon-ann']);
    // An export changes nothing.
    expect(await count('ingestion.seen_messages WHERE customer_id = ANY($1)', [['pr-ann', 'anon-ann']])).toBe(2);
  });

  it('erases them, leaves other customers alone, and a redelivered erase confirms again changing nothing', async () => {
    await ask(request('erase-ann', 'pr-ann', 'erase'));
    const [done] = await eventually(() => {
      expect(answers('erase-ann')).toHaveLength(1);
      return answers('erase-ann');
    }, 30_000);
    expect(done?.id).toBe('erase-ann:ingestion');
    expect(done?.payload.summary).toMatchObject({ 'ingestion.seen_messages': 2, 'ingestion.identity_links': 1 });
    expect(done?.payload.data).toBeUndefined();
    expect(await count('ingestion.seen_messages WHERE customer_id = ANY($1)', [['pr-ann', 'anon-ann']])).toBe(0);
    expect(await count('ingestion.identity_links WHERE user_id = $1', ['pr-ann'])).toBe(0);
    expect(await count('ingestion.seen_messages WHERE customer_id = ANY($1)', [['pr-bob', 'anon-bob']])).toBe(2);

    await ask(request('erase-ann', 'pr-ann', 'erase'));
    const again = await eventually(() => {
      expect(answers('erase-ann')).toHaveLength(2);
      return answers('erase-ann')[1];
    }, 30_000);
    // The same envelope id, so the coordinator drops it; nothing was left to erase.
    expect(again?.id).toBe('erase-ann:ingestion');
    expect(Object.values(again?.payload.summary ?? {}).every((n) => n === 0)).toBe(true);
    expect(await count('ingestion.seen_messages WHERE customer_id = ANY($1)', [['pr-bob', 'anon-bob']])).toBe(2);
  });

  it('removes the customer’s clean events still waiting in the outbox, but not a pending privacy record', async () => {
    const pending = [
      [topicName(infra.prefix, 'lifecycleEvents'), 'pr-cy', '{"traits":{"email":"cy@example.com"}}'],
      [topicName(infra.prefix, 'lifecycleEvents'), 'pr-dee', '{"traits":{"email":"dee@example.com"}}'],
      [topicName(infra.prefix, 'privacyResponses'), 'pr-cy', '{"earlier":"confirmation"}'],
    ];
    const erased = await inTransaction(runtime.pool, async (tx) => {
      // Inserted and erased in one transaction the relay never sees: the rows stay pending throughout.
      for (const [topic, key, value] of pending) await tx.execute(sql`INSERT INTO ingestion.outbox (topic, key, value, created_at) VALUES (${topic}, ${key}, ${value}, now())`);
      const done = await actOnPrivacyRequest(tx, infra.prefix, request('erase-cy', 'pr-cy', 'erase'));
      const { rows } = await tx.execute<{ key: string; topic: string }>(sql`SELECT key, topic FROM ingestion.outbox ORDER BY id`);
      await tx.execute(sql`DELETE FROM ingestion.outbox`);
      return { done, left: rows };
    });
    expect(erased.done.payload.summary['ingestion.outbox']).toBe(1);
    expect(erased.left).toEqual([
      { key: 'pr-dee', topic: topicName(infra.prefix, 'lifecycleEvents') },
      { key: 'pr-cy', topic: topicName(infra.prefix, 'privacyResponses') },
    ]);
  });

  it('decides for every table of its schema: erased, or kept for a stated reason', async () => {
    const { rows } = await runtime.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'ingestion' ORDER BY 1");
    const decided = [...privacyTables('').map((t) => t.table), ...Object.keys(keptTables)].sort();
    expect(rows.map((r) => r.table_name)).toEqual(decided);
  });
});
