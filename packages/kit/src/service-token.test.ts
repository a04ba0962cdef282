import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, baseConfigShape, ConfigError } from './config.ts';
import { createBaseApp, type FastifyInstance } from './http.ts';
import { createLogger } from './logger.ts';
import { z } from 'zod';

const TOKEN = 'a-service-token-of-some-length';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** An app shaped like the services': open routes of each kind, registered directly, in plugins and under a prefix, and protected ones. */
function serviceLikeApp(serviceToken: string | undefined): FastifyInstance {
  const built = createBaseApp({ logger: createLogger('kit-test', 'silent'), readiness: {}, serviceToken });
  built.get('/metrics', async () => 'metrics');
  built.get('/docs', async () => ({ openapi: '3.1.0' }));
  built.get('/docs/openapi.json', async () => ({ openapi: '3.1.0' }));
  built.get('/customers/:id', async (request) => ({ customer: request.params }));
  built.get('/admin/clock', async () => ({ now: 'then' }));
  void built.register(
    async (api) => {
      api.post('/track', async () => ({ success: true }));
      api.post('/batch', async () => ({ success: true }));
    },
    { prefix: '/v1' },
  );
  void built.register(async (plugin) => {
    plugin.post('/webhooks/sendgrid', async () => ({ ok: true }));
    plugin.get('/unsubscribe', async () => 'unsubscribe page');
    plugin.post('/unsubscribe', async () => 'unsubscribed');
    plugin.get('/preview/:templateId', async () => 'preview');
  });
  app = built;
  return built;
}

const open = [
  { method: 'GET', url: '/healthz' },
  { method: 'GET', url: '/readyz' },
  { method: 'GET', url: '/metrics' },
  { method: 'GET', url: '/docs' },
  { method: 'GET', url: '/docs/openapi.json' },
  { method: 'POST', url: '/v1/track' },
  { method: 'POST', url: '/v1/batch' },
  { method: 'POST', url: '/webhooks/sendgrid' },
  { method: 'GET', url: '/unsubscribe?token=abc' },
  { method: 'POST', url: '/unsubscribe?token=abc' },
] as const;

const protectedRoutes = [
  { method: 'GET', url: '/customers/c-1' },
  { method: 'GET', url: '/admin/clock' },
  { method: 'GET', url: '/preview/welcome' },
] as const;

describe('SERVICE_TOKEN', () => {
  it('refuses a protected route without the token, with a wrong one and with another scheme, and answers with it', async () => {
    const built = serviceLikeApp(TOKEN);
    for (const route of protectedRoutes) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }, { authorization: TOKEN }]) {
        const refused = await built.inject({ ...route, headers });
        expect(refused.statusCode, `${route.url} with ${JSON.stringify(headers)}`).toBe(401);
        expect(refused.json()).toEqual({ error: 'missing or wrong service token' });
      }
      const allowed = await built.inject({ ...route, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(allowed.statusCode, route.url).toBe(200);
    }
  });

  it('keeps health, metrics, docs, the tracking API, the SendGrid webhook and unsubscribe links open', async () => {
    const built = serviceLikeApp(TOKEN);
    for (const route of open) {
      const answer = await built.inject(route);
      expect(answer.statusCode, route.url).toBe(200);
    }
  });

  it('gives an unknown path no standing from the open routes it resembles', async () => {
    const built = serviceLikeApp(TOKEN);
    for (const url of ['/v1', '/v1/../customers/c-1', '/healthz/../admin/clock', '/nowhere', '/metrics-export']) {
      expect((await built.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
  });

  it('leaves every route open without a token, as before', async () => {
    const built = serviceLikeApp(undefined);
    for (const route of [...open, ...protectedRoutes]) {
      expect((await built.inject(route)).statusCode, route.url).toBe(200);
    }
  });

  it('is read from the environment, at least 16 characters, and unset when empty', () => {
    const schema = z.object(baseConfigShape);
    expect(parseConfig(schema, { SERVICE_TOKEN: TOKEN }).SERVICE_TOKEN).toBe(TOKEN);
    expect(parseConfig(schema, { SERVICE_TOKEN: '' }).SERVICE_TOKEN).toBeUndefined();
    expect(() => parseConfig(schema, { SERVICE_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => parseConfig(schema, { SERVICE_TOKEN: 'short' })).toThrow(/SERVICE_TOKEN: at least 16 characters/);
  });
});
