import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter, LifecycleEvent, topicName } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { buildIngestion, type Ingestion } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

let infra: TestInfra;
let runtime: Runtime;
let service: Ingestion;
let producer: Producer;
let clean: Awaited<ReturnType<typeof collectTopic>>;
let dead: Awaited<ReturnType<typeof collectTopic>>;

function orderCompleted(messageId: string, userId: string): Record<string, unknown> {
  return {
    type: 'track',
    messageId,
    timestamp: new Date().toISOString(),
    userId,
    event: 'Order Completed',
    properties: { order_id: `order-${messageId}`, total: 30, currency: 'usd', products: [{ name: 'Mug', price: 15, quantity: 2 }] },
  };
}

async function send(key: string, value: string): Promise<void> {
  await producer.send({ topic: topicName(infra.prefix, 'commerceEvents'), messages: [{ key, value }] });
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'ingestion', config, schema: 'ingestion', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await buildIngestion(runtime);
  producer = await connectedProducer(infra);
  clean = await collectTopic(infra, 'lifecycleEvents');
  dead = await collectTopic(infra, 'commerceEvents', { deadLetter: true });
});

afterAll(async () => {
  await Promise.all([clean?.stop(), dead?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.app.close();
  await runtime?.close();
});

describe('ingestion on a real broker and database', () => {
  it('publishes a valid order once on lifecycle.events, keyed by customer, even when the call is repeated', async () => {
    await send('cust-a', JSON.stringify(orderCompleted('m-1', 'cust-a')));
    await send('cust-a', JSON.stringify(orderCompleted('m-1', 'cust-a')));
    await send('cust-a', JSON.stringify(orderCompleted('m-2', 'cust-a')));
    const events = await eventually(() => {
      const forA = clean.records.filter((r) => r.key === 'cust-a').map((r) => LifecycleEvent.parse(JSON.parse(r.value)));
      expect(forA.map((e) => e.id)).toEqual(['m-1', 'm-2']);
      return forA;
    });
    expect(events[0]?.payload.call).toMatchObject({ event: 'Order Completed', properties: { currency: 'USD' } });
    const rows = await runtime.pool.query('SELECT message_id FROM ingestion.seen_messages ORDER BY message_id');
    expect(rows.rows).toEqual([{ message_id: 'm-1' }, { message_id: 'm-2' }]);
  });

  it('sends bad JSON, a missing messageId and an unknown type to commerce.events.dlq with the reason, and keeps going', async () => {
    const missingId = { ...orderCompleted('x', 'cust-b'), messageId: undefined };
    const unknownType = { ...orderCompleted('m-3', 'cust-b'), type: 'shout' };
    const wrongShape = { ...orderCompleted('m-4', 'cust-b'), properties: { order_id: 'o', total: 'lots' } };
    await send('cust-b', '{"type": "track",');
    await send('cust-b', JSON.stringify(missingId));
    await send('cust-b', JSON.stringify(unknownType));
    await send('cust-b', JSON.stringify(wrongShape));
    await send('cust-b', JSON.stringify(orderCompleted('m-5', 'cust-b')));

    const letters = await eventually(() => {
      expect(dead.records.filter((r) => r.key === 'cust-b')).toHaveLength(4);
      return dead.records.map((r) => DeadLetter.parse(JSON.parse(r.value)));
    });
    expect(letters.map((l) => l.reason)).toEqual([
      'value is not valid JSON',
      'value does not match the topic schema',
      'value does not match the topic schema',
      '"Order Completed" properties do not match the E-commerce Spec',
    ]);
    expect(letters[1]?.errors.join()).toContain('messageId');
    expect(letters[2]?.errors.join()).toContain('type');
    expect(letters[3]?.errors.join()).toContain('properties.total');
    expect(Buffer.from(letters[0]?.value ?? '', 'base64').toString()).toBe('{"type": "track",');
    expect(letters[0]?.source).toMatchObject({ topic: topicName(infra.prefix, 'commerceEvents') });
    // The partition moved on: the good event after the poison ones came through.
    await eventually(() => expect(clean.records.some((r) => r.key === 'cust-b' && r.value.includes('"m-5"'))).toBe(true));
  });

  it('reports ready once its consumer has joined and the database answers', async () => {
    expect((await service.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    await eventually(async () => expect((await service.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { consumers: true, database: true } }));
  });
});
