import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, createLogger, createPool, ensureDatabase, runMigrations, type FastifyInstance, type Pool } from '@lifecycle/kit';
import { unusedDatabaseUrl } from '@lifecycle/tools/test-kit';
import { createConsoleApp, sessionCookie } from '../src/app.ts';
import { auditLogRepository } from '../src/db/audit-log.ts';
import { hashPassword } from '../src/password.ts';
import { createUpstream, serviceNames } from '../src/upstream.ts';
import { startFakeServices, type FakeServices } from './fake-services.ts';

const password = 'correct horse battery staple';
const token = 'test-service-token-0123456789';
const hour = 3_600_000;

let fakes: FakeServices;
let pool: Pool;
let passwordHash: string;
let logs: string[];
let webDir: string;

beforeAll(async () => {
  fakes = await startFakeServices();
  const databaseUrl = unusedDatabaseUrl();
  await ensureDatabase(databaseUrl);
  await runMigrations(databaseUrl, { schema: 'console', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  pool = createPool(databaseUrl, 2);
  passwordHash = await hashPassword(password);
  webDir = await mkdtemp(join(tmpdir(), 'console-web-'));
  await mkdir(join(webDir, 'assets'));
  await writeFile(join(webDir, 'index.html'), '<!doctype html><title>Lifecycle console</title><div id="root"></div><script type="module" src="/assets/app.js"></script>');
  await writeFile(join(webDir, 'assets', 'app.js'), 'console.log("app")');
});

afterAll(async () => {
  await Promise.all(serviceNames.map((s) => fakes[s].close()));
  await pool.end();
});

beforeEach(() => {
  for (const s of serviceNames) {
    fakes[s].routes.clear();
    fakes[s].seen.length = 0;
  }
  logs = [];
});

async function consoleApp(opts: { urls?: Partial<Record<(typeof serviceNames)[number], string>>; webDir?: string; now?: () => number } = {}): Promise<FastifyInstance> {
  const logger = createLogger('console', 'info', new Writable({ write: (chunk: Buffer, _enc, done) => { logs.push(chunk.toString('utf8')); done(); } }));
  const urls = { ingestion: fakes.ingestion.url, classifier: fakes.classifier.url, scheduler: fakes.scheduler.url, messaging: fakes.messaging.url, ...opts.urls };
  return createConsoleApp({
    logger,
    passwordHash,
    sessionTtlMs: 12 * hour,
    upstream: createUpstream({ urls, token, timeoutMs: 2_000, logger }),
    audit: auditLogRepository(createDatabase(pool)),
    webDir: opts.webDir ?? webDir,
    readiness: {},
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
}

interface LoggedIn {
  cookie: string;
  csrfToken: string;
}

async function logIn(app: FastifyInstance): Promise<LoggedIn> {
  const response = await app.inject({ method: 'POST', url: '/api/login', payload: { password } });
  expect(response.statusCode).toBe(200);
  const cookie = response.cookies.find((c) => c.name === sessionCookie);
  if (cookie === undefined) throw new Error('no session cookie');
  return { cookie: `${sessionCookie}=${cookie.value}`, csrfToken: response.json<{ csrfToken: string }>().csrfToken };
}

describe('login', () => {
  it('logs in with the password and sets an HttpOnly, SameSite=Strict session cookie', async () => {
    const app = await consoleApp();
    const response = await app.inject({ method: 'POST', url: '/api/login', payload: { password } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const header = String(response.headers['set-cookie']);
    expect(header).toMatch(/^lc_session=[A-Za-z0-9_-]{43};/);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Strict');
    expect(header).toContain('Path=/');
    expect(header).not.toContain('Secure'); // served over plain http here

    const cookie = response.cookies.find((c) => c.name === sessionCookie)?.value ?? '';
    const session = await app.inject({ method: 'GET', url: '/api/session', cookies: { [sessionCookie]: cookie } });
    expect(session.json()).toEqual({ authenticated: true, csrfToken: response.json<{ csrfToken: string }>().csrfToken });
    expect(logs.join('')).not.toContain(password);
  });

  it('refuses a wrong password with 401 and no cookie', async () => {
    const app = await consoleApp();
    const response = await app.inject({ method: 'POST', url: '/api/login', payload: { password: 'not the password' } });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'wrong password' });
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('stops an address after five wrong passwords, even with the right one, while others may still log in', async () => {
    let now = Date.now();
    const app = await consoleApp({ now: () => now });
    const attacker = '203.0.113.7';
    for (let i = 0; i < 5; i += 1) {
      const wrong = await app.inject({ method: 'POST', url: '/api/login', payload: { password: `guess ${i}` }, remoteAddress: attacker });
      expect(wrong.statusCode).toBe(401);
    }
    const blocked = await app.inject({ method: 'POST', url: '/api/login', payload: { password }, remoteAddress: attacker });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.headers['set-cookie']).toBeUndefined();

    const other = await app.inject({ method: 'POST', url: '/api/login', payload: { password }, remoteAddress: '198.51.100.1' });
    expect(other.statusCode).toBe(200);

    now += 16 * 60_000;
    const later = await app.inject({ method: 'POST', url: '/api/login', payload: { password }, remoteAddress: attacker });
    expect(later.statusCode).toBe(200);
  });

  it('ends the session at logout and when it expires', async () => {
    let now = Date.now();
    const app = await consoleApp({ now: () => now });
    const first = await logIn(app);
    const out = await app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: first.cookie, 'x-csrf-token': first.csrfToken } });
    expect(out.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/audit', headers: { cookie: first.cookie } })).statusCode).toBe(401);

    const second = await logIn(app);
    expect((await app.inject({ method: 'GET', url: '/api/audit', headers: { cookie: second.cookie } })).statusCode).toBe(200);
    now += 12 * hour + 1;
    expect((await app.inject({ method: 'GET', url: '/api/audit', headers: { cookie: second.cookie } })).statusCode).toBe(401);
  });
});

describe('access', () => {
  it('answers 401 on an /api route without a session and calls no service', async () => {
    const app = await consoleApp();
    fakes.classifier.routes.set('GET /customers/c-1', () => ({ json: { profile: { email: 'jane@example.com' }, history: [] } }));
    const response = await app.inject({ method: 'GET', url: '/api/customers/c-1' });
    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain('jane@example.com');
    const forged = await app.inject({ method: 'GET', url: '/api/customers/c-1', cookies: { [sessionCookie]: 'made-up-session-id' } });
    expect(forged.statusCode).toBe(401);
    expect(fakes.classifier.seen).toEqual([]);
  });

  it('answers 403 on a POST without or with a wrong CSRF token and re-publishes nothing', async () => {
    const app = await consoleApp();
    const { cookie, csrfToken } = await logIn(app);
    const payload = { service: 'classifier', topic: 'lifecycle.events.dlq', reason: 'invalid' };
    const missing = await app.inject({ method: 'POST', url: '/api/dead-letters/republish', headers: { cookie }, payload });
    expect(missing.statusCode).toBe(403);
    const wrong = await app.inject({ method: 'POST', url: '/api/dead-letters/republish', headers: { cookie, 'x-csrf-token': `${csrfToken.slice(0, -1)}x` }, payload });
    expect(wrong.statusCode).toBe(403);
    expect(fakes.classifier.seen).toEqual([]);
  });

  it('sends security headers with a Content-Security-Policy that allows only its own scripts', async () => {
    const app = await consoleApp();
    const response = await app.inject({ method: 'GET', url: '/' });
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });
});

describe('static app', () => {
  it('serves the built app, and index.html for client-side routes but not for unknown /api paths', async () => {
    const app = await consoleApp();
    const root = await app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.body).toContain('<title>Lifecycle console</title>');
    const asset = await app.inject({ method: 'GET', url: '/assets/app.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.body).toBe('console.log("app")');
    const route = await app.inject({ method: 'GET', url: '/customers/c-42' });
    expect(route.statusCode).toBe(200);
    expect(route.body).toContain('<title>Lifecycle console</title>');
    const api = await app.inject({ method: 'GET', url: '/api/no-such-thing' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: 'no route GET /api/no-such-thing' });
  });

  it('says how to build the app when dist/web is missing', async () => {
    const app = await consoleApp({ webDir: join(tmpdir(), 'console-web-that-does-not-exist') });
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain('pnpm --filter @lifecycle/console build:web');
  });
});

describe('aggregation', () => {
  // Ten days ago, whenever the test runs.
  const base = Date.now() - 10 * 24 * hour;
  const t = (minutes: number): string => new Date(base + minutes * 60_000).toISOString();

  function customerC1(): void {
    fakes.classifier.routes.set('GET /customers/c-1', () => ({
      json: {
        profile: { stage: 'active', recentEvents: [{ eventId: 'e-1', type: 'Order Completed', occurredAt: t(0) }, { eventId: 'e-2', type: 'Product Viewed', occurredAt: t(90) }] },
        rfm: null,
        history: [{ from: 'prospect', to: 'active', reason: 'first order', eventId: 'e-1', occurredAt: t(0) }],
      },
    }));
    fakes.scheduler.routes.set('GET /contacts/c-1', () => ({ json: { customerId: 'c-1', locale: 'en', zone: 'Europe/Paris', consent: 'granted', stage: 'active' } }));
    fakes.scheduler.routes.set('GET /customers/c-1/jobs', () => ({
      json: { jobs: [{ dedupeKey: 'thanks:e-1', campaignId: 'thank-you', status: 'fired', skipReason: null, skipDetail: null, dueAt: t(60), firedAt: t(61), createdAt: t(1), variant: null }] },
    }));
    fakes.messaging.routes.set('GET /customers/c-1/messages', () => ({
      json: { messages: [{ messageId: 'm-1', campaignId: 'thank-you', templateId: 'thank-you', status: 'delivered', sentAt: t(62), openedAt: t(120), clickedAt: null, error: null }] },
    }));
    fakes.messaging.routes.set('GET /customers/c-1/consent', () => ({ json: { state: 'granted', history: [] } }));
  }

  it('merges a customer from the four answers into one timeline, oldest first, sending the service token', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    customerC1();
    const response = await app.inject({ method: 'GET', url: '/api/customers/c-1', headers: { cookie } });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ profile: { stage: string }; contact: { locale: string }; jobs: unknown[]; messages: unknown[]; consent: { state: string }; timeline: { at: string; kind: string; title: string }[] }>();
    expect(body.profile.stage).toBe('active');
    expect(body.contact.locale).toBe('en');
    expect(body.consent.state).toBe('granted');
    expect(body.timeline.map((e) => [e.kind, e.title])).toEqual([
      ['event', 'Order Completed'],
      ['stage', 'prospect → active'],
      ['job', 'thank-you: fired'],
      ['message', 'thank-you: delivered'],
      ['event', 'Product Viewed'],
    ]);
    expect(body.timeline.map((e) => e.at)).toEqual([t(0), t(0), t(61), t(62), t(90)]);
    const calls = [...fakes.classifier.seen, ...fakes.scheduler.seen, ...fakes.messaging.seen];
    expect(calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual(['GET /contacts/c-1', 'GET /customers/c-1', 'GET /customers/c-1/consent', 'GET /customers/c-1/jobs', 'GET /customers/c-1/messages']);
    expect(new Set(calls.map((c) => c.authorization))).toEqual(new Set([`Bearer ${token}`]));
  });

  it('answers 404 for a customer no service knows', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    const response = await app.inject({ method: 'GET', url: '/api/customers/nobody', headers: { cookie } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'no service knows a customer with id nobody' });
  });

  it('answers 502 naming the service that is down', async () => {
    const down = await startFakeServices();
    const closedUrl = down.messaging.url;
    await Promise.all(serviceNames.map((s) => down[s].close()));
    const app = await consoleApp({ urls: { messaging: closedUrl } });
    const { cookie } = await logIn(app);
    customerC1();
    const response = await app.inject({ method: 'GET', url: '/api/customers/c-1', headers: { cookie } });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toEqual({ error: 'messaging is unavailable: connection failed', service: 'messaging' });

    fakes.classifier.routes.set('GET /stages', () => ({ status: 500, json: { error: 'internal error' } }));
    fakes.classifier.routes.set('GET /metrics/stage-flows', () => ({ json: { buckets: [] } }));
    fakes.classifier.routes.set('GET /metrics/retention', () => ({ json: { customerRetentionRate: null, churnRate: null, repeatPurchaseRate: null, nps: null, byCurrency: {} } }));
    fakes.scheduler.routes.set('GET /admin/clock', () => ({ json: { now: new Date().toISOString(), mode: 'system' } }));
    fakes.messaging.routes.set('GET /metrics/messages', () => ({ json: { days: [] } }));
    const healthy = await consoleApp();
    const session = await logIn(healthy);
    const overview = await healthy.inject({ method: 'GET', url: '/api/overview', headers: { cookie: session.cookie } });
    expect(overview.statusCode).toBe(502);
    expect(overview.json<{ service: string }>().service).toBe('classifier');
  });

  it('shows a service that is down on the system page instead of failing it', async () => {
    const down = await startFakeServices();
    const closedUrl = down.scheduler.url;
    await Promise.all(serviceNames.map((s) => down[s].close()));
    const app = await consoleApp({ urls: { scheduler: closedUrl } });
    const { cookie } = await logIn(app);
    for (const s of ['ingestion', 'classifier', 'messaging'] as const) {
      fakes[s].routes.set('GET /readyz', () => ({ json: { status: 'ready', checks: { database: true, consumers: true } } }));
      fakes[s].routes.set('GET /admin/consumer-lag', () => ({ json: { groups: [{ groupId: `lifecycle-${s}`, topic: 'commerce.events', partition: 0, lag: 3, committed: '7', high: '10' }] } }));
    }
    fakes.messaging.routes.set('GET /readyz', () => ({ status: 503, json: { status: 'not ready', checks: { database: false, consumers: true } } }));
    const response = await app.inject({ method: 'GET', url: '/api/system', headers: { cookie } });
    expect(response.statusCode).toBe(200);
    const services = response.json<{ services: { service: string; ready: boolean; checks: Record<string, boolean> | null; lag: { lag: number }[] | null; error: string | null }[] }>().services;
    expect(services.map((s) => [s.service, s.ready])).toEqual([['ingestion', true], ['classifier', true], ['scheduler', false], ['messaging', false]]);
    expect(services[3]?.checks).toEqual({ database: false, consumers: true });
    expect(services[2]?.error).toBe('scheduler is unavailable: connection failed');
    expect(services[0]?.lag?.[0]?.lag).toBe(3);
  });

  it('finds a customer by email through the scheduler without writing the address to the log', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    fakes.scheduler.routes.set('GET /contacts', (r) => (r.query.get('email') === 'jane.doe@example.com' ? { json: { customerId: 'c-1' } } : undefined));
    const found = await app.inject({ method: 'GET', url: '/api/customers/lookup?q=jane.doe%40example.com', headers: { cookie } });
    expect(found.json()).toEqual({ customerId: 'c-1' });
    const unknown = await app.inject({ method: 'GET', url: '/api/customers/lookup?q=someone%40example.com', headers: { cookie } });
    expect(unknown.statusCode).toBe(404);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('')).not.toContain('example.com');
  });

  it('finds a customer by name when the text is no id: one match is the customer, several are listed', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    const kim = { customerId: 'c-7', firstName: 'Kim', name: 'Kim Lee', email: 'kim@example.com' };
    const kai = { customerId: 'c-8', firstName: 'Kai', name: null, email: null };
    fakes.scheduler.routes.set('GET /contacts', (r) => {
      const name = r.query.get('name');
      if (name === 'Kim') return { json: { contacts: [kim], more: false } };
      if (name === 'K') return { status: 400, json: { error: 'too short' } };
      if (name === 'Ka') return { json: { contacts: [kai, kim], more: false } };
      return { json: { contacts: [], more: false } };
    });
    const lookup = (q: string) => app.inject({ method: 'GET', url: `/api/customers/lookup?q=${encodeURIComponent(q)}`, headers: { cookie } });
    expect((await lookup('Kim')).json()).toEqual({ customerId: 'c-7' });
    expect((await lookup('Ka')).json()).toEqual({ matches: [kai, kim], more: false });
    const none = await lookup('Nobody');
    expect(none.statusCode).toBe(404);
    expect(none.json()).toEqual({ error: 'no customer with id Nobody, nor with a name containing it' });
    expect((await lookup('K')).statusCode).toBe(404);
  });

  it('previews a template straight from messaging, framed only by the console and with no script allowed', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    fakes.messaging.routes.set('GET /preview/welcome', (r) => ({ html: `<html><body>Hello in ${r.query.get('locale') ?? 'en'}</body></html>` }));
    fakes.messaging.routes.set('GET /preview/broken', () => ({ status: 422, html: '<h1>Preview failed</h1>' }));
    const ok = await app.inject({ method: 'GET', url: '/api/templates/welcome/preview?locale=ja', headers: { cookie } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('<html><body>Hello in ja</body></html>');
    expect(ok.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none';.*frame-ancestors 'self'$/);
    // A template that does not render: messaging's page and status, shown in the frame.
    const broken = await app.inject({ method: 'GET', url: '/api/templates/broken/preview', headers: { cookie } });
    expect([broken.statusCode, broken.body]).toEqual([422, '<h1>Preview failed</h1>']);
    expect((await app.inject({ method: 'GET', url: '/api/templates/..%2Fadmin/preview', headers: { cookie } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/templates/welcome/preview' })).statusCode).toBe(401);
  });

  it('builds the overview from one retention call per month', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    fakes.classifier.routes.set('GET /stages', () => ({ json: { stages: { prospect: 4, active: 2 } } }));
    fakes.classifier.routes.set('GET /metrics/stage-flows', () => ({ json: { buckets: [] } }));
    fakes.classifier.routes.set('GET /metrics/retention', (r) => ({
      json: { from: r.query.get('from'), to: r.query.get('to'), customerRetentionRate: 0.5, churnRate: 0.5, repeatPurchaseRate: 0.25, nps: 40, byCurrency: { EUR: { averageOrderValue: 30, historicCustomerLifetimeValue: 60, revenue: 90, orders: 3 } } },
    }));
    fakes.messaging.routes.set('GET /metrics/messages', () => ({ json: { days: [] } }));
    const from = '2026-11-15T00:00:00.000Z';
    const to = '2027-02-10T00:00:00.000Z';
    const response = await app.inject({ method: 'GET', url: `/api/overview?from=${from}&to=${to}`, headers: { cookie } });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ stages: Record<string, number>; months: { start: string; end: string; nps: number }[]; definitions: Record<string, string> }>();
    expect(body.stages).toEqual({ prospect: 4, active: 2 });
    expect(body.months.map((m) => [m.start, m.end])).toEqual([
      [from, '2026-12-01T00:00:00.000Z'],
      ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
      ['2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z'],
      ['2027-02-01T00:00:00.000Z', to],
    ]);
    expect(body.definitions.customerRetentionRate).toMatch(/ordered/);
    expect(fakes.classifier.seen.find((s) => s.path === '/metrics/stage-flows')?.query.get('bucket')).toBe('month');
  });
});

describe('coupons', () => {
  const stats = {
    pools: [{ pool: 'birthday', kind: 'generated', available: null, issued: 40, redeemed: 7, low: false }, { pool: 'win-back', kind: 'imported', available: 12, issued: 88, redeemed: 9, low: true }],
    campaigns: [{ campaignId: 'birthday', variant: null, issued: 40, redeemed: 7, redemptionRate: 0.175, redeemedMoreThanOnce: 1, revenue: [{ currency: 'EUR', amountMinor: 12990, amount: 129.9 }] }],
  };

  it('reads messaging’s coupon stats for a campaign with the service token, and passes the pools on', async () => {
    fakes.messaging.routes.set('GET /coupons/stats', () => ({ json: stats }));
    const app = await consoleApp();
    const session = await logIn(app);
    const response = await app.inject({ method: 'GET', url: '/api/coupons?campaignId=birthday', headers: { cookie: session.cookie } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ available: true, ...stats });
    const [seen] = fakes.messaging.seen;
    expect(seen?.query.get('campaignId')).toBe('birthday');
    expect(seen?.authorization).toBe(`Bearer ${token}`);
    await app.close();
  });

  it('answers "no coupons" for a messaging that has none (404), and 502 when messaging is down', async () => {
    const app = await consoleApp();
    const session = await logIn(app);
    const none = await app.inject({ method: 'GET', url: '/api/coupons', headers: { cookie: session.cookie } });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ available: false, pools: [], campaigns: [] });
    expect(fakes.messaging.seen.map((r) => r.path)).toEqual(['/coupons/stats']);
    await app.close();

    const down = await consoleApp({ urls: { messaging: 'http://127.0.0.1:9' } });
    const s2 = await logIn(down);
    const failed = await down.inject({ method: 'GET', url: '/api/coupons', headers: { cookie: s2.cookie } });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toMatchObject({ service: 'messaging' });
    await down.close();
  });
});

describe('measurement', () => {
  const programme = {
    globalControlPercent: 5,
    mailed: { customers: 950, converted: 190, conversionRate: 0.2, revenuePerCustomer: { USD: 12 } },
    control: { customers: 50, converted: 6, conversionRate: 0.12, revenuePerCustomer: { USD: 7.5 } },
    lift: { absolute: 0.08, relative: 0.6667, ci95: [-0.0137, 0.1737], significant: false, method: 'difference of two proportions, 95% Wald interval (two-proportion z-test)' },
  };
  const sunset = { enabled: true, after: 'P120D', grace: 'P14D', sunset: 37, rePermissionSent: 120, reengaged: 9 };

  it('reads programme lift and sunset from the scheduler with the service token', async () => {
    fakes.scheduler.routes.set('GET /programme/stats', () => ({ json: programme }));
    fakes.scheduler.routes.set('GET /sunset/stats', () => ({ json: sunset }));
    const app = await consoleApp();
    const session = await logIn(app);
    const response = await app.inject({ method: 'GET', url: '/api/measurement', headers: { cookie: session.cookie } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ programme, sunset });
    expect(fakes.scheduler.seen.map((r) => r.path).sort()).toEqual(['/programme/stats', '/sunset/stats']);
    expect(fakes.scheduler.seen.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
    await app.close();
  });

  it('answers null for what an older scheduler lacks (404) and for a scheduler that is down, instead of failing', async () => {
    fakes.scheduler.routes.set('GET /sunset/stats', () => ({ json: sunset }));
    const app = await consoleApp();
    const session = await logIn(app);
    const older = await app.inject({ method: 'GET', url: '/api/measurement', headers: { cookie: session.cookie } });
    expect(older.statusCode).toBe(200);
    expect(older.json()).toEqual({ programme: null, sunset });
    await app.close();

    const down = await consoleApp({ urls: { scheduler: 'http://127.0.0.1:9' } });
    const s2 = await logIn(down);
    const none = await down.inject({ method: 'GET', url: '/api/measurement', headers: { cookie: s2.cookie } });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ programme: null, sunset: null });
    await down.close();
  });

  it('passes a campaign’s holdout block on with its stats', async () => {
    const holdout = { percent: 10, mailed: { customers: 900, converted: 108, conversionRate: 0.12, revenuePerCustomer: { USD: 4.1 } }, heldOut: { customers: 100, converted: 8, conversionRate: 0.08, revenuePerCustomer: { USD: 2.9 } }, lift: { absolute: 0.04, relative: 0.5, ci95: [0.0138, 0.0662], significant: true, method: 'difference of two proportions, 95% Wald interval (two-proportion z-test)' } };
    fakes.scheduler.routes.set('GET /campaigns/cross-sell', () => ({ json: { id: 'cross-sell', sent: 900, conversions: 108, revenue: {}, holdout } }));
    const app = await consoleApp();
    const session = await logIn(app);
    const response = await app.inject({ method: 'GET', url: '/api/campaigns/cross-sell', headers: { cookie: session.cookie } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: 'cross-sell', holdout });
    await app.close();
  });
});

describe('dead letters', () => {
  it('re-publishes through the service and records who, what and the result in console.audit_log', async () => {
    const app = await consoleApp();
    const { cookie, csrfToken } = await logIn(app);
    fakes.scheduler.routes.set('POST /dead-letters/republish', () => ({ json: { republished: [{ partition: 0, offset: '12', sourceTopic: 'lifecycle.stage-changed' }] } }));
    const response = await app.inject({
      method: 'POST',
      url: '/api/dead-letters/republish',
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: { service: 'scheduler', topic: 'lifecycle.stage-changed.dlq', partition: 0, offset: '7' },
    });
    expect(response.statusCode).toBe(200);
    const { auditId } = response.json<{ auditId: number }>();
    expect(fakes.scheduler.seen).toEqual([expect.objectContaining({ method: 'POST', path: '/dead-letters/republish', authorization: `Bearer ${token}`, body: { topic: 'lifecycle.stage-changed.dlq', partition: 0, offset: '7' } })]);

    const rows = await pool.query('SELECT actor, action, target, result, detail, at FROM console.audit_log WHERE id = $1', [auditId]);
    expect(rows.rows).toEqual([
      {
        actor: 'operator',
        action: 'dead-letters.republish',
        target: { service: 'scheduler', topic: 'lifecycle.stage-changed.dlq', partition: 0, offset: '7' },
        result: 'ok',
        detail: { republished: [{ partition: 0, offset: '12', sourceTopic: 'lifecycle.stage-changed' }] },
        at: expect.any(Date),
      },
    ]);
    const audit = await app.inject({ method: 'GET', url: '/api/audit', headers: { cookie } });
    expect(audit.json<{ entries: { id: number; result: string }[] }>().entries[0]).toMatchObject({ id: auditId, result: 'ok', actor: 'operator' });
  });

  it('records a failed re-publish too, and answers 502 naming the service', async () => {
    const app = await consoleApp();
    const { cookie, csrfToken } = await logIn(app);
    fakes.messaging.routes.set('POST /dead-letters/republish', () => ({ status: 503, json: { error: 'broker unavailable' } }));
    const response = await app.inject({
      method: 'POST',
      url: '/api/dead-letters/republish',
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: { service: 'messaging', topic: 'lifecycle.messages.dlq', reason: 'invalid' },
    });
    expect(response.statusCode).toBe(502);
    expect(response.json<{ service: string }>().service).toBe('messaging');
    const audit = await app.inject({ method: 'GET', url: '/api/audit', headers: { cookie } });
    expect(audit.json<{ entries: unknown[] }>().entries[0]).toMatchObject({ result: 'failed', target: { service: 'messaging', topic: 'lifecycle.messages.dlq', reason: 'invalid' } });
  });

  it('refuses a re-publish that names neither one record nor a reason', async () => {
    const app = await consoleApp();
    const { cookie, csrfToken } = await logIn(app);
    const response = await app.inject({ method: 'POST', url: '/api/dead-letters/republish', headers: { cookie, 'x-csrf-token': csrfToken }, payload: { service: 'messaging', topic: 'x.dlq' } });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ issues: { field: string }[] }>().issues[0]?.field).toBe('reason');
  });

  it('lists the dead letters of every service', async () => {
    const app = await consoleApp();
    const { cookie } = await logIn(app);
    for (const s of serviceNames) fakes[s].routes.set('GET /dead-letters', () => ({ json: { topics: [{ topic: `${s}.in.dlq`, sourceTopic: `${s}.in`, total: 1, byReason: [{ reason: 'invalid', count: 1 }] }] } }));
    const response = await app.inject({ method: 'GET', url: '/api/dead-letters', headers: { cookie } });
    expect(response.json<{ services: { service: string; topics: { topic: string }[] }[] }>().services.map((s) => [s.service, s.topics[0]?.topic])).toEqual(serviceNames.map((s) => [s, `${s}.in.dlq`]));
  });
});
