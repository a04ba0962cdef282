import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { repoRoot } from '../kafka-broker.ts';
import { readStackConfig } from '../stack-config.ts';
import { defaultDemoStore, demoStackEnv, planDemoStack, whereToLook } from './demo-stack.ts';
import { getOptionalJson, measurementLines, offerLines, preferenceLine } from './run-demo.ts';

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
    // Its topics have one partition, whatever the environment asks of a production stack's.
    expect(demoStackEnv({ TOPIC_PARTITIONS: '12' }, store, '2031-03-01').TOPIC_PARTITIONS).toBe('1');
    expect(demoStackEnv({ LOG_LEVEL: 'debug' }, store, '2031-03-01').LOG_LEVEL).toBe('debug');
  });

  it('runs its copy of the campaigns, written under .local/demo, over a CAMPAIGNS_DIR of the environment', () => {
    expect(store.campaignsDir).toBe(join(repoRoot, '.local', 'demo', 'campaigns'));
    const campaigns = { dir: '/x/campaigns', env: { CAMPAIGNS_DIR: '/x/campaigns', COUPONS_FILE: '/x/campaigns/_coupons.yaml', CONSENT_FILE: '/x/campaigns/_consent.yaml' }, holdouts: ['cross-sell'], sunset: true };
    expect(demoStackEnv({ CAMPAIGNS_DIR: '/store/campaigns' }, store, '2031-03-01', campaigns)).toMatchObject(campaigns.env);
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

describe('the summary’s measurement', () => {
  const method = 'difference of two proportions, 95% Wald interval (two-proportion z-test)';
  const holdout = {
    percent: 10,
    mailed: { customers: 1000, converted: 120, conversionRate: 0.12, revenuePerCustomer: { USD: 4.1 } },
    heldOut: { customers: 1000, converted: 80, conversionRate: 0.08, revenuePerCustomer: {} },
    lift: { absolute: 0.04, relative: 0.5, ci95: [0.0138, 0.0662] as [number, number], significant: true, method },
  };
  const programme = {
    globalControlPercent: 5,
    mailed: { customers: 950, converted: 190, conversionRate: 0.2, revenuePerCustomer: {} },
    control: { customers: 50, converted: 6, conversionRate: 0.12, revenuePerCustomer: {} },
    lift: { absolute: 0.08, ci95: [-0.0137, 0.1737] as [number, number], method },
  };

  it('prints mailed vs held-out conversion and the lift with its interval per holdout campaign and for the programme, and the sunset count', () => {
    expect(measurementLines([{ campaignId: 'cross-sell', holdout }], programme, { enabled: true, after: 'P120D', grace: 'P14D', sunset: 37, rePermissionSent: 120, reengaged: 9 })).toEqual([
      `Holdouts (held-out customers got no mail of the campaign; lift = mailed minus held-out conversion rate, ${method}):`,
      '  cross-sell (10% held out): mailed 12.0% of 1,000 converted, held out 8.0% of 1,000 converted: lift +4.0 pp, 95% interval +1.4 pp to +6.6 pp (significant)',
      'Programme (5% control group, no marketing mail at all): mailed 20.0% of 950 converted, control 12.0% of 50 converted: lift +8.0 pp, 95% interval -1.4 pp to +17.4 pp (not significant)',
      'Sunset (no open or click for P120D, then none within P14D of the re-permission mail): 37 customers sunset, 120 re-permission mails sent, 9 re-engaged',
    ]);
  });

  it('says what is missing on a stack without holdouts, programme or sunset figures', () => {
    expect(measurementLines([{ campaignId: 'cross-sell', holdout: { ...holdout, heldOut: { customers: 0, converted: 0, conversionRate: null, revenuePerCustomer: {} }, lift: null } }], { why: '/programme/stats answered 404' }, { enabled: false, sunset: 0 })).toEqual([
      // No lift, so no test to name.
      'Holdouts (held-out customers got no mail of the campaign; lift = mailed minus held-out conversion rate):',
      '  cross-sell (10% held out): mailed 12.0% of 1,000 converted, held out – of 0 converted: no lift yet (a group is empty)',
      'Programme: not available (/programme/stats answered 404)',
      'Sunset: off',
    ]);
    expect(measurementLines([], { ...programme, globalControlPercent: 0, control: { customers: 0, converted: 0, conversionRate: null, revenuePerCustomer: {} }, lift: null }, { enabled: false, sunset: 0 })[1]).toBe('Programme: no control group (globalControl is 0 in _settings.yaml)');
    expect(measurementLines([], { why: '/programme/stats did not answer' }, { why: '/sunset/stats answered 404' })).toEqual([
      'Holdouts: none (no campaign holds customers out)',
      'Programme: not available (/programme/stats did not answer)',
      'Sunset: not available (/sunset/stats answered 404)',
    ]);
  });
});

describe('the summary’s preference changes', () => {
  it('counts the customers who changed theirs on the page, and why other visits changed nothing', () => {
    const changed = [
      { customerId: 'demo-00001', change: { kind: 'topic' as const, topic: 'offers' } },
      { customerId: 'demo-00002', change: { kind: 'frequency' as const, frequency: 'weekly' } },
      { customerId: 'demo-00003', change: { kind: 'topic' as const, topic: 'anniversaries' } },
    ];
    expect(preferenceLine({ changed, failed: {} }, true)).toBe('Preferences: 3 customers changed theirs on the preference page from a mail\'s "Manage preferences" link (2 left a topic, 1 chose a frequency)');
    expect(preferenceLine({ changed: [], failed: { 'no preferences link in the mail': 4, 'the preference page answered 404': 1 } }, true)).toBe(
      'Preferences: 0 customers changed theirs on the preference page from a mail\'s "Manage preferences" link (0 left a topic, 0 chose a frequency); 5 visits changed nothing (no preferences link in the mail: 4, the preference page answered 404: 1)',
    );
    expect(preferenceLine({ changed: [], failed: {} }, false)).toMatch(/^Preferences: none changed \(the mail went to SendGrid/);
  });
});
