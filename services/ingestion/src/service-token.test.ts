import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@lifecycle/kit';
import { createApp } from './app.ts';
import { hashWriteKey } from './domain/write-keys.ts';

const KEY = 'wk-live-2026';
const TOKEN = 'ingestion-service-token';
const writeKey = { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}` };

let app: ReturnType<typeof createApp> | undefined;

afterEach(async () => {
  await app?.close();
});

describe('ingestion with SERVICE_TOKEN set', () => {
  it('keeps the tracking API (write keys), health and docs open, and refuses other routes without the token', async () => {
    app = createApp({ logger: createLogger('ingestion', 'silent'), readiness: {}, writeKeyHashes: [hashWriteKey(KEY)], publishTimeoutMs: 200, now: () => new Date(), publish: async () => {}, serviceToken: TOKEN });
    const call = { messageId: 'm-1', userId: 'cust-1', event: 'Product Viewed', properties: {} };
    expect((await app.inject({ method: 'POST', url: '/v1/track', headers: writeKey, payload: call })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers: writeKey, payload: { batch: [{ ...call, type: 'track', messageId: 'm-2' }] } })).statusCode).toBe(200);
    // A wrong write key is still the tracking API's answer, not the service token's.
    const unknownKey = await app.inject({ method: 'POST', url: '/v1/track', payload: call });
    expect(unknownKey.json()).toEqual({ error: 'unknown or revoked write key' });
    for (const url of ['/healthz', '/readyz', '/docs', '/docs/openapi.json']) expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    const other = await app.inject({ method: 'GET', url: '/dead-letters' });
    expect(other.statusCode).toBe(401);
    expect(other.json()).toEqual({ error: 'missing or wrong service token' });
  });
});
