import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readStackConfig } from '../stack-config.ts';
import { defaultDemoStore, demoStackEnv, planDemoStack, whereToLook } from './demo-stack.ts';
import { getOptionalJson, offerLines } from './run-demo.ts';

describe('whether the demo starts a stack of its own', () => {
  it('starts one when no service answers, uses the stack when all do, and names the missing ones of a partial stack', () => {
    expect(planDemoStack([])).toEqual({ kind: 'start' });
    expect(planDemoStack(['ingestion', 'classifier', 'scheduler', 'messaging'])).toEqual({ kind: 'use-running' });
    expect(planDemoStack(['ingestion', 'scheduler'])).toEqual({ kind: 'partial', answering: ['ingestion', 'scheduler'], silent: ['classifier', 'messaging'] });
  });
});

describe('the demo’s own stack', () => {
  const config = readStackConfig({ DATABASE_URL: 'postgres://me:secret@db.example.com:5433/lifecycle' });
  const store = defaultDemoStore(config);

  it('keeps its data beside the stack’s: database lifecycle_demo on the same server, topics under demo.', () => {
    expect(store.databaseUrl).toBe('postgres://me:secret@db.example.com:5433/lifecycle_demo');
    expect(store.topicPrefix).toBe('demo.');
  });

  it('runs a simulated clock from the day before the year, on the demo’s store, and never sends real mail', () => {
    const env = demoStackEnv({ SENDGRID_API_KEY: 'SG.real', TOPIC_PREFIX: 'prod.', HOME: '/home/me' }, store, '2031-03-01');
    expect(env).toMatchObject({ CLOCK: 'simulated', CLOCK_START: '2031-02-28T00:00:00Z', DATABASE_URL: store.databaseUrl, TOPIC_PREFIX: 'demo.', OUTBOX_DIR: store.outboxDir, LOG_LEVEL: 'warn', HOME: '/home/me' });
    expect(env).not.toHaveProperty('SENDGRID_API_KEY');
    expect(demoStackEnv({ LOG_LEVEL: 'debug' }, store, '2031-03-01').LOG_LEVEL).toBe('debug');
  });

  it('says where to look without the database password', () => {
    const urls = { ingestion: 'http://127.0.0.1:3001', classifier: 'http://127.0.0.1:3002', scheduler: 'http://127.0.0.1:3003', messaging: 'http://127.0.0.1:3004' };
    const text = whereToLook(urls, store, ['127.0.0.1:9092']).join('\n');
    expect(text).toContain('http://127.0.0.1:3003/campaigns');
    expect(text).toContain('http://127.0.0.1:3002/stages');
    expect(text).toContain('postgres://me:***@db.example.com:5433/lifecycle_demo');
    expect(text).toContain('prefix demo. on 127.0.0.1:9092');
    expect(text).toContain('Ctrl-C');
    expect(text).not.toContain('secret');
  });
});

describe('the summary’s offers and recommendations', () => {
  it('prints codes issued and redeemed and the hit rate at 3 against best sellers', () => {
    expect(offerLines({ issued: 120, redeemed: 18, redemptionRate: 0.15, ordersWithCode: 19 }, { customers: 240, hitRateAt3: 0.2125, baselineHitRateAt3: 0.0875 })).toEqual([
      "Coupons: 120 codes issued, 18 redeemed, redemption rate 15.0% (the demo's customers placed 19 orders with a code from their mail)",
      "Recommendations: hit rate at 3 21.3% vs best sellers 8.8% over 240 customers (each customer's last order held out)",
    ]);
  });

  it('says "not available" for a stack whose services answer 404 for the new read APIs, and does not fail', async () => {
    const server = createServer((request, response) => {
      if (request.url === '/coupons/stats' && request.headers.authorization === 'Bearer tok-0123456789abcdef') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pools: [{ pool: 'birthday', kind: 'generated', available: null, issued: 4, redeemed: 1, low: false }], campaigns: [] }));
      } else response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = z.object({ port: z.number() }).parse(server.address());
    try {
      const Any = z.object({ pools: z.array(z.unknown()) });
      expect(await getOptionalJson('tok-0123456789abcdef', `http://127.0.0.1:${port}/coupons/stats`, Any)).toMatchObject({ ok: true });
      const missing = await getOptionalJson('tok-0123456789abcdef', `http://127.0.0.1:${port}/recommendations/evaluation`, Any);
      expect(missing).toEqual({ ok: false, why: '/recommendations/evaluation answered 404' });
      expect(offerLines({ why: '/coupons/stats answered 404' }, { why: '/recommendations/evaluation answered 404' })).toEqual([
        'Coupons: not available (/coupons/stats answered 404)',
        'Recommendations: not available (/recommendations/evaluation answered 404)',
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await getOptionalJson(undefined, `http://127.0.0.1:${port}/coupons/stats`, z.object({}))).toEqual({ ok: false, why: '/coupons/stats did not answer' });
  });
});
