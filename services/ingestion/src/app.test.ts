import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@lifecycle/kit';
import { createApp } from './app.ts';
import { hashWriteKey } from './domain/write-keys.ts';
import type { OutgoingRecord } from './tracking-api.ts';

const KEY = 'wk-live-2026';
const NEXT_KEY = 'wk-live-2027';
const auth = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
const now = new Date('2026-11-23T10:00:00Z');

interface Harness {
  app: ReturnType<typeof createApp>;
  published: OutgoingRecord[];
}

let current: Harness | undefined;

function harness(publish?: (records: OutgoingRecord[]) => Promise<void>): Harness {
  const published: OutgoingRecord[] = [];
  const app = createApp({
    logger: createLogger('ingestion', 'silent'),
    readiness: {},
    writeKeyHashes: [hashWriteKey(KEY), hashWriteKey(NEXT_KEY)],
    publishTimeoutMs: 200,
    now: () => now,
    publish:
      publish ??
      (async (records) => {
        published.push(...records);
      }),
  });
  current = { app, published };
  return current;
}

afterEach(async () => {
  await current?.app.close();
});

const order = {
  messageId: 'm-1',
  userId: 'cust-1',
  event: 'Order Completed',
  timestamp: '2026-11-23T09:00:00+01:00',
  properties: { order_id: 'o-1', total: 30, currency: 'usd' },
};

describe('HTTP tracking API', () => {
  it('accepts a track call with a valid write key and puts it on commerce.events keyed by user id', async () => {
    const { app, published } = harness();
    const response = await app.inject({ method: 'POST', url: '/v1/track', headers: auth(KEY), payload: order });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ success: true });
    expect(published).toHaveLength(1);
    expect(published[0]?.key).toBe('cust-1');
    expect(JSON.parse(published[0]?.value ?? '')).toMatchObject({ type: 'track', messageId: 'm-1', event: 'Order Completed' });
  });

  it('accepts identify, alias, page and screen calls, filling the type from the route and a missing timestamp with the time of receipt', async () => {
    const { app, published } = harness();
    for (const [route, body] of [
      ['identify', { messageId: 'i-1', anonymousId: 'anon-1', userId: 'cust-1', traits: { email: 'ann@example.com' } }],
      ['alias', { messageId: 'a-1', previousId: 'anon-1', userId: 'cust-1' }],
      ['page', { messageId: 'p-1', anonymousId: 'anon-1', name: 'Home' }],
      ['screen', { messageId: 's-1', userId: 'cust-1', name: 'Cart' }],
    ] as const) {
      const response = await app.inject({ method: 'POST', url: `/v1/${route}`, headers: auth(NEXT_KEY), payload: body });
      expect(response.statusCode, route).toBe(200);
    }
    expect(published.map((r) => JSON.parse(r.value))).toMatchObject([
      { type: 'identify', timestamp: now.toISOString() },
      { type: 'alias' },
      { type: 'page' },
      { type: 'screen' },
    ]);
  });

  it('answers 401 alike to a missing, an unknown and a revoked key, and publishes nothing', async () => {
    const { app, published } = harness();
    const answers = await Promise.all(
      [{}, auth('wk-guess'), auth('wk-live-2025')].map((headers) => app.inject({ method: 'POST', url: '/v1/track', headers, payload: order })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([401, 401, 401]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(answers[0]?.headers['www-authenticate']).toBe('Basic realm="lifecycle"');
    expect(published).toHaveLength(0);
  });

  it('answers 400 naming each bad field and why', async () => {
    const { app, published } = harness();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: auth(KEY),
      payload: { ...order, userId: undefined, properties: { order_id: 'o-1', total: 'lots' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid event', issues: [{ field: 'userId', message: 'either userId or anonymousId is required' }] });
    const shape = await app.inject({ method: 'POST', url: '/v1/track', headers: auth(KEY), payload: { ...order, properties: { order_id: 'o-1', total: 'lots' } } });
    expect(shape.json()).toMatchObject({ reason: '"Order Completed" properties do not match the E-commerce Spec', issues: [{ field: 'properties.total' }] });
    expect(published).toHaveLength(0);
  });

  it('answers 400 naming the field to a NUL character, a lone surrogate, deep nesting and an over-long order id, and publishes none of them', async () => {
    const { app, published } = harness();
    const post = async (url: string, body: string) =>
      app.inject({ method: 'POST', url, headers: { ...auth(KEY), 'content-type': 'application/json' }, payload: body });
    // Written as JSON text, as a client sends it: `\u0000` and `\ud800` escapes on the wire.
    const nul = await post('/v1/track', JSON.stringify({ ...order, userId: 'cust\u0000' }));
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toMatchObject({ reason: 'input not accepted: userId: contains a NUL character (U+0000)', issues: [{ field: 'userId' }] });
    const key = await post('/v1/track', JSON.stringify({ ...order, properties: { ...order.properties, 'gift\u0000': true } }));
    expect(key.json()).toMatchObject({ issues: [{ field: 'properties.gift\\u0000', message: 'key contains a NUL character (U+0000)' }] });
    const surrogate = await post('/v1/identify', JSON.stringify({ messageId: 'i-1', userId: 'cust-1', traits: { name: 'Ann \uD83D' } }));
    expect(surrogate.statusCode).toBe(400);
    expect(surrogate.json()).toMatchObject({ issues: [{ field: 'traits.name', message: 'contains a lone UTF-16 surrogate, which is not valid Unicode' }] });
    // Within the 32 KB body limit: 5,000 levels.
    const deep = await post('/v1/track', `{"messageId":"m-2","userId":"cust-1","event":"Custom","properties":{"x":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`);
    expect(deep.statusCode).toBe(400);
    expect(deep.json()).toMatchObject({ reason: `input not accepted: properties.x${'.0'.repeat(30)}: nesting deeper than 32 levels` });
    const long = await post('/v1/track', JSON.stringify({ ...order, properties: { ...order.properties, order_id: 'o'.repeat(201) } }));
    expect(long.json()).toMatchObject({ issues: [{ field: 'properties.order_id', message: 'ids are at most 200 characters, this one has 201' }] });
    const batch = await post('/v1/batch', JSON.stringify({ batch: [{ ...order, type: 'track' }, { ...order, type: 'track', messageId: 'm-3', anonymousId: '\uDC00' }] }));
    expect(batch.statusCode).toBe(400);
    expect(batch.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, issues: [{ field: 'anonymousId' }] }] });
    expect(published.map((r) => JSON.parse(r.value))).toMatchObject([{ messageId: 'm-1' }]);
  });

  it('answers 400 to unparsable JSON', async () => {
    const { app } = harness();
    const response = await app.inject({ method: 'POST', url: '/v1/track', headers: { ...auth(KEY), 'content-type': 'application/json' }, payload: '{"event": ' });
    expect(response.statusCode).toBe(400);
  });

  it('answers 413 to a call over 32 KB, a batch over 500 KB and a batch of more than 500 events', async () => {
    const { app, published } = harness();
    const big = { ...order, properties: { ...order.properties, note: 'x'.repeat(33 * 1024) } };
    expect((await app.inject({ method: 'POST', url: '/v1/track', headers: auth(KEY), payload: big })).statusCode).toBe(413);
    const huge = { batch: [{ ...big, type: 'track', properties: { note: 'x'.repeat(501 * 1024) } }] };
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers: auth(KEY), payload: huge })).statusCode).toBe(413);
    const many = { batch: Array.from({ length: 501 }, (_, i) => ({ type: 'page', messageId: `p-${i}`, anonymousId: 'a' })) };
    const tooMany = await app.inject({ method: 'POST', url: '/v1/batch', headers: auth(KEY), payload: many });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toMatchObject({ error: 'a batch holds at most 500 events' });
    expect(published).toHaveLength(0);
  });

  it('accepts the good events of a batch and says which were not accepted and why', async () => {
    const { app, published } = harness();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth(KEY),
      payload: {
        batch: [
          { ...order, type: 'track', messageId: 'b-1' },
          { ...order, type: 'track', messageId: 'b-2', properties: { order_id: 'o-2', total: 1, currency: 'DOLLARS' } },
          { type: 'identify', messageId: 'b-3', userId: 'cust-1', traits: { timezone: 'Moon/Base' } },
          { ...order, type: 'track', messageId: 'b-4' },
        ],
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      accepted: 2,
      rejected: [
        { index: 1, messageId: 'b-2', issues: [{ field: 'properties.currency' }] },
        { index: 2, messageId: 'b-3', issues: [{ field: 'traits.timezone', message: 'expected an IANA time zone such as Europe/Paris' }] },
      ],
    });
    expect(published.map((r) => JSON.parse(r.value).messageId)).toEqual(['b-1', 'b-4']);
  });

  it('applies a batch-level context to every call of the batch, a call keeping its own context keys', async () => {
    const { app, published } = harness();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth(KEY),
      payload: {
        context: { locale: 'de-DE', library: { name: 'analytics-python' } },
        batch: [
          { type: 'page', messageId: 'c-1', anonymousId: 'a-1' },
          { type: 'page', messageId: 'c-2', anonymousId: 'a-1', context: { locale: 'fr-FR' } },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    expect(published.map((r) => JSON.parse(r.value).context)).toEqual([
      { locale: 'de-DE', library: { name: 'analytics-python' } },
      { locale: 'fr-FR', library: { name: 'analytics-python' } },
    ]);
  });

  it('stamps each record with the request arrival and gives each call the batch sentAt, a call keeping its own, for the skew correction', async () => {
    const { app, published } = harness();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth(KEY),
      payload: {
        sentAt: '2026-11-23T12:00:00.000Z',
        batch: [
          { type: 'page', messageId: 't-1', anonymousId: 'a-1', timestamp: '2026-11-23T11:59:00Z' },
          { type: 'page', messageId: 't-2', anonymousId: 'a-1', timestamp: '2026-11-23T11:58:00Z', sentAt: '2026-11-23T11:59:59Z' },
          // No timestamp: the service stamps it with its own clock, so the client's sentAt has nothing to correct.
          { type: 'page', messageId: 't-3', anonymousId: 'a-1', sentAt: '2026-11-23T11:59:59Z' },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    expect(published.map((r) => r.timestamp)).toEqual(Array(3).fill(String(now.getTime())));
    const calls = published.map((r) => JSON.parse(r.value));
    expect(calls.map((c) => c.sentAt)).toEqual(['2026-11-23T12:00:00.000Z', '2026-11-23T11:59:59Z', undefined]);
    expect(calls[2]).toMatchObject({ timestamp: now.toISOString() });
  });

  it('answers 503 with Retry-After, instead of accepting, when Kafka fails or does not answer in time', async () => {
    const failing = harness(async () => {
      throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    });
    const response = await failing.app.inject({ method: 'POST', url: '/v1/track', headers: auth(KEY), payload: order });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    await failing.app.close();

    const hanging = harness(() => new Promise(() => undefined));
    const batch = await hanging.app.inject({ method: 'POST', url: '/v1/batch', headers: auth(KEY), payload: { batch: [{ ...order, type: 'track' }] } });
    expect(batch.statusCode).toBe(503);
    expect(batch.headers['retry-after']).toBe('5');
  });

  it('serves an OpenAPI description generated from the contract schemas at /docs', async () => {
    const { app } = harness();
    const response = await app.inject({ url: '/docs' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/v1/track', '/v1/identify', '/v1/alias', '/v1/page', '/v1/screen', '/v1/batch', '/dead-letters', '/dead-letters/records', '/dead-letters/republish', '/admin/consumer-lag']);
    expect(doc.paths['/dead-letters/records'].get.security).toEqual([{ serviceToken: [] }]);
    expect(doc.components.schemas.TrackCall.required).toEqual(expect.arrayContaining(['messageId', 'timestamp', 'type', 'event']));
    expect(doc.components.schemas['Properties: NPS Survey Answered'].properties.score).toMatchObject({ minimum: 0, maximum: 10 });
  });
});
