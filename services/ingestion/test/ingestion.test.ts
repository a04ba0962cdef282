import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter, LifecycleEvent, topicName } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { Analytics } from '@segment/analytics-node';
import { loadConfig, type IngestionConfig } from '../src/config.ts';
import { purgeExpiredMessages } from '../src/db/seen-messages.ts';
import { hashWriteKey } from '../src/domain/write-keys.ts';
import { startIngestion, type Ingestion } from '../src/service.ts';

let infra: TestInfra;
let runtime: Runtime;
let service: Ingestion;
let producer: Producer;
let clean: Awaited<ReturnType<typeof collectTopic>>;
let dead: Awaited<ReturnType<typeof collectTopic>>;
let config: IngestionConfig;

const WRITE_KEY = 'wk-integration';
const auth = { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` };

async function startService(): Promise<void> {
  runtime = await openRuntime({ service: 'ingestion', config, schema: 'ingestion', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startIngestion(runtime, config);
}

async function stopService(): Promise<void> {
  await service.stop();
  await runtime.close();
}

function cleanFor(key: string): LifecycleEvent[] {
  return clean.records.filter((r) => r.key === key).map((r) => LifecycleEvent.parse(JSON.parse(r.value)));
}

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
  config = loadConfig({ ...serviceEnv(infra), PORT: '0', INGESTION_WRITE_KEY_HASHES: hashWriteKey(WRITE_KEY) });
  await startService();
  producer = await connectedProducer(infra);
  clean = await collectTopic(infra, 'lifecycleEvents');
  dead = await collectTopic(infra, 'commerceEvents', { deadLetter: true });
});

afterAll(async () => {
  await Promise.all([clean?.stop(), dead?.stop(), producer?.disconnect()]);
  if (service !== undefined) await stopService();
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

  it('sends a record the database cannot store to the DLQ after bounded retries, and publishes its neighbours', async () => {
    // A rule only the database knows (a trigger here): the record passes every input check, yet can never be stored.
    await runtime.pool.query(`
      CREATE FUNCTION ingestion.refuse_p2() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.message_id = 'p-2' THEN RAISE EXCEPTION 'p-2 refused by test trigger'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_p2 BEFORE INSERT ON ingestion.seen_messages FOR EACH ROW EXECUTE FUNCTION ingestion.refuse_p2();`);
    try {
      await send('cust-p', JSON.stringify(orderCompleted('p-1', 'cust-p')));
      await send('cust-p', JSON.stringify(orderCompleted('p-2', 'cust-p')));
      await send('cust-p', JSON.stringify(orderCompleted('p-3', 'cust-p')));
      const letter = await eventually(() => {
        const found = dead.records.filter((r) => r.key === 'cust-p').map((r) => DeadLetter.parse(JSON.parse(r.value)));
        expect(found).toHaveLength(1);
        return found[0];
      });
      expect(letter?.reason).toBe('processing failed after 3 attempts');
      expect(letter?.attempts).toBe(3);
      expect(Buffer.from(letter?.value ?? '', 'base64').toString()).toContain('"p-2"');
      await eventually(() => expect(cleanFor('cust-p').map((e) => e.id)).toEqual(['p-1', 'p-3']));
    } finally {
      await runtime.pool.query('DROP TRIGGER refuse_p2 ON ingestion.seen_messages; DROP FUNCTION ingestion.refuse_p2()');
    }
  });

  it('dead-letters an id with a NUL character and a deeply nested property on the first reading, naming the field, and stores neither', async () => {
    const depth = 20_000;
    const deep = `{"type":"track","messageId":"n-2","timestamp":"${new Date().toISOString()}","userId":"cust-n","event":"Custom","properties":{"a":${'{"b":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
    await send('cust-n', JSON.stringify(orderCompleted('n-1\u0000', 'cust-n')));
    await send('cust-n', deep);
    await send('cust-n', JSON.stringify(orderCompleted('n-3', 'cust-n')));
    const letters = await eventually(() => {
      const found = dead.records.filter((r) => r.key === 'cust-n').map((r) => DeadLetter.parse(JSON.parse(r.value)));
      expect(found).toHaveLength(2);
      return found;
    });
    expect(letters.map((l) => [l.reason, l.attempts])).toEqual([
      // The order id is made from the messageId, so it has one too.
      ['input not accepted: messageId: contains a NUL character (U+0000) (and 1 more)', 0],
      [`input not accepted: properties.a${'.b'.repeat(30)}: nesting deeper than 32 levels`, 0],
    ]);
    expect(letters[0]?.errors).toEqual(['messageId: contains a NUL character (U+0000)', 'properties.order_id: contains a NUL character (U+0000)']);
    await eventually(() => expect(cleanFor('cust-n').map((e) => e.id)).toEqual(['n-3']));
    const stored = await runtime.pool.query(`SELECT message_id FROM ingestion.seen_messages WHERE customer_id = 'cust-n'`);
    expect(stored.rows).toEqual([{ message_id: 'n-3' }]);
  });

  it('reports ready once its consumer has joined and the database answers', async () => {
    expect((await service.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    await eventually(async () => expect((await service.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { consumers: true, database: true } }));
  });

  it('shows its consumer group’s lag on commerce.events and the process metrics on GET /metrics, 0 once it has consumed everything', async () => {
    const group = `${infra.prefix}lifecycle-ingestion`;
    const topic = topicName(infra.prefix, 'commerceEvents');
    const lagLine = new RegExp(`^lifecycle_kafka_consumer_lag\\{group="${group.replaceAll('.', '\\.')}",topic="${topic.replaceAll('.', '\\.')}",partition="\\d+"\\} (\\d+)$`, 'gm');
    // Earlier tests published to commerce.events: once consumed and committed, every partition shows 0 (read again after 10 s at most).
    await eventually(async () => {
      const text = (await service.app.inject({ url: '/metrics' })).body;
      expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
      const lags = [...text.matchAll(lagLine)].map((m) => Number(m[1]));
      expect(lags.length).toBeGreaterThan(0);
      expect(lags.every((n) => n === 0)).toBe(true);
    }, 30_000, 1_000);
  });

  it('publishes one clean event when the same messageId comes through Kafka and over HTTP', async () => {
    await send('cust-c', JSON.stringify(orderCompleted('m-10', 'cust-c')));
    const response = await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: orderCompleted('m-10', 'cust-c') });
    expect(response.statusCode).toBe(200);
    await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: orderCompleted('m-11', 'cust-c') });
    await eventually(() => expect(cleanFor('cust-c').map((e) => e.id)).toEqual(['m-10', 'm-11']));
  });

  it('over HTTP, publishes the good events of a batch with a bad one in the middle, and only those', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: {
        batch: [
          { ...orderCompleted('b-1', 'cust-d') },
          { ...orderCompleted('b-2', 'cust-d'), properties: { order_id: 'o', total: 'lots' } },
          { ...orderCompleted('b-3', 'cust-d') },
        ],
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ accepted: 2, rejected: [{ index: 1, messageId: 'b-2', issues: [{ field: 'properties.total' }] }] });
    await eventually(() => expect(cleanFor('cust-d').map((e) => e.id)).toEqual(['b-1', 'b-3']));
  });

  it('normalizes what it publishes: UTC with the offset kept, money in minor units, email lower-cased', async () => {
    const call = {
      ...orderCompleted('m-20', 'cust-e'),
      timestamp: '2026-11-20T10:15:00+09:00',
      context: { traits: { email: ' Ann@Example.COM' } },
      properties: { order_id: 'o-20', total: 4500, currency: 'jpy' },
    };
    await send('cust-e', JSON.stringify(call));
    const [event] = await eventually(() => {
      const found = cleanFor('cust-e');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(event?.occurredAt).toBe('2026-11-20T01:15:00.000Z');
    expect(event?.payload.call).toMatchObject({
      timestamp: '2026-11-20T01:15:00.000Z',
      context: { traits: { email: 'ann@example.com' } },
      normalized: { timestampOffset: '+09:00', money: { currency: 'JPY', amounts: { total: 4500 } } },
    });
  });

  it('over HTTP, puts the event of a client whose clock runs two hours fast on lifecycle.events at the corrected time', async () => {
    const before = Date.now();
    // The client's clock: two hours ahead of the server's. The order happened a minute before the send.
    const clientNow = before + 2 * 3_600_000;
    const clientTimestamp = new Date(clientNow - 60_000).toISOString();
    const response = await service.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: { sentAt: new Date(clientNow).toISOString(), batch: [{ ...orderCompleted('sk-1', 'cust-s'), timestamp: clientTimestamp }] },
    });
    const after = Date.now();
    expect(response.statusCode).toBe(200);
    const [event] = await eventually(() => {
      const found = cleanFor('cust-s');
      expect(found).toHaveLength(1);
      return found;
    });
    const receivedAt = Date.parse(event?.payload.call.normalized?.receivedAt ?? '');
    expect(receivedAt).toBeGreaterThanOrEqual(before);
    expect(receivedAt).toBeLessThanOrEqual(after);
    expect(event?.occurredAt).toBe(new Date(receivedAt - 60_000).toISOString());
    expect(event?.payload.call).toMatchObject({ timestamp: event?.occurredAt, normalized: { originalTimestamp: clientTimestamp } });
  });

  it('from Kafka, corrects a skewed client clock by the record timestamp', async () => {
    const recordTime = Date.now();
    const skewed = (ms: number) => new Date(ms + 2 * 3_600_000).toISOString();
    const call = { ...orderCompleted('sk-2', 'cust-t'), timestamp: skewed(recordTime - 300_000), sentAt: skewed(recordTime) };
    await producer.send({ topic: topicName(infra.prefix, 'commerceEvents'), messages: [{ key: 'cust-t', value: JSON.stringify(call), timestamp: String(recordTime) }] });
    const [event] = await eventually(() => {
      const found = cleanFor('cust-t');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(event?.occurredAt).toBe(new Date(recordTime - 300_000).toISOString());
    expect(event?.payload.call.normalized).toMatchObject({ originalTimestamp: call.timestamp, receivedAt: new Date(recordTime).toISOString() });
  });

  it('links an anonymous id to the customer on identify, so later anonymous browsing counts for the customer', async () => {
    const view = (messageId: string) => ({ type: 'track', messageId, timestamp: new Date().toISOString(), anonymousId: 'anon-f', event: 'Product Viewed', properties: { product_id: 'p-1' } });
    await send('anon-f', JSON.stringify(view('v-1')));
    await eventually(() => expect(cleanFor('anon-f').map((e) => e.id)).toEqual(['v-1']));
    const identify = { type: 'identify', messageId: 'i-1', timestamp: new Date().toISOString(), anonymousId: 'anon-f', userId: 'cust-f', traits: { email: 'f@example.com' } };
    expect((await service.app.inject({ method: 'POST', url: '/v1/identify', headers: auth, payload: identify })).statusCode).toBe(200);
    await eventually(() => expect(cleanFor('cust-f').map((e) => e.id)).toEqual(['i-1']));
    await send('anon-f', JSON.stringify(view('v-2')));

    const events = await eventually(() => {
      const found = cleanFor('cust-f');
      expect(found.map((e) => e.id)).toEqual(['i-1', 'v-2']);
      return found;
    });
    expect(events[0]?.payload.call.normalized?.linked).toEqual({ anonymousId: 'anon-f', userId: 'cust-f' });
    expect(events[1]?.payload.call).toMatchObject({ anonymousId: 'anon-f', normalized: { linkedCustomerId: 'cust-f' } });
    const links = await runtime.pool.query('SELECT anonymous_id, user_id FROM ingestion.identity_links');
    expect(links.rows).toEqual([{ anonymous_id: 'anon-f', user_id: 'cust-f' }]);
  });

  it('receives the events of the real @segment/analytics-node client pointed at the service', async () => {
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: address, maxEventsInBatch: 10, flushInterval: 50 });
    const failures: unknown[] = [];
    analytics.on('error', (err) => failures.push(err));
    analytics.identify({ userId: 'cust-g', traits: { email: 'G@Example.com', timezone: 'Europe/Paris' } });
    analytics.track({ userId: 'cust-g', event: 'Order Completed', properties: { order_id: 'o-g', total: 19.99, currency: 'EUR' } });
    analytics.page({ userId: 'cust-g', name: 'Home' });
    analytics.alias({ userId: 'cust-g', previousId: 'anon-g' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(failures).toEqual([]);
    const events = await eventually(() => {
      const found = cleanFor('cust-g');
      expect(found).toHaveLength(4);
      return found;
    });
    expect(events.map((e) => e.payload.call.type).sort()).toEqual(['alias', 'identify', 'page', 'track']);
    const order = events.find((e) => e.payload.call.type === 'track');
    expect(order?.payload.call.normalized?.money).toEqual({ currency: 'EUR', amounts: { total: 1999 } });
  });

  it('forgets messageIds older than the retention window, and not newer ones', async () => {
    // Stamped by this process's clock, as the service stamps them: never the database's now().
    const now = new Date();
    await runtime.pool.query(`INSERT INTO ingestion.seen_messages (message_id, customer_id, first_seen_at) VALUES ('old-1', 'c', $1)`, [new Date(now.getTime() - 31 * 86_400_000)]);
    const deleted = await purgeExpiredMessages(runtime.db, now, 30);
    expect(deleted).toBe(1);
    const kept = await runtime.pool.query(`SELECT count(*)::int AS n FROM ingestion.seen_messages WHERE message_id = 'm-1'`);
    expect(kept.rows).toEqual([{ n: 1 }]);
  });

  it('while it cannot write to Kafka, answers 503 with Retry-After over HTTP and dead-letters nothing, then catches up', async () => {
    await runtime.producer.disconnect();
    // The relay publishes with a producer of its own; stopped, it stands for one that cannot reach
    // Kafka (the kit's outbox test cuts a relay off the real broker).
    await service.outbox.stop();
    try {
      const refused = await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: orderCompleted('k-1', 'cust-k') });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      await send('cust-k', JSON.stringify(orderCompleted('k-2', 'cust-k')));
      // The consumer did take the record: it waits in the outbox, committed with its dedupe row.
      await eventually(async () => expect(await service.outbox.backlog()).toBe(1));
      expect(dead.records.filter((r) => r.key === 'cust-k')).toEqual([]);
      expect(cleanFor('cust-k')).toEqual([]);
    } finally {
      await runtime.producer.connect();
      service.outbox.start();
    }
    await eventually(() => expect(cleanFor('cust-k').map((e) => e.id)).toEqual(['k-2']), 60_000);
    expect(dead.records.filter((r) => r.key === 'cust-k')).toEqual([]);
  });

  it('drops a redelivery that arrives after a restart of the service', async () => {
    await send('cust-h', JSON.stringify(orderCompleted('m-30', 'cust-h')));
    await eventually(() => expect(cleanFor('cust-h').map((e) => e.id)).toEqual(['m-30']));
    await stopService();
    await startService();
    const response = await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: orderCompleted('m-30', 'cust-h') });
    expect(response.statusCode).toBe(200);
    await send('cust-h', JSON.stringify(orderCompleted('m-30', 'cust-h')));
    await send('cust-h', JSON.stringify(orderCompleted('m-31', 'cust-h')));
    await eventually(() => expect(cleanFor('cust-h').map((e) => e.id)).toEqual(['m-30', 'm-31']), 60_000);
  });
});
