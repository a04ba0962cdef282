import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { z, ZodError } from 'zod';
import { createBaseApp, type FastifyInstance, type Logger, type Readiness } from '@lifecycle/kit';
import type { AuditLog } from './db/audit-log.ts';
import { defaultWindow, metricDefinitions, monthBuckets } from './overview.ts';
import { verifyPassword } from './password.ts';
import { createLoginLimiter, createSessionStore } from './sessions.ts';
import { ClassifierCustomer, CustomerJobs, CustomerMessages, mergeTimeline } from './timeline.ts';
import { serviceNames, UpstreamDown, UpstreamRefused, type Upstream, type UpstreamService } from './upstream.ts';

export const sessionCookie = 'lc_session';

const NameMatches = z.object({
  contacts: z.array(z.object({ customerId: z.string(), firstName: z.string().nullable(), name: z.string().nullable(), email: z.string().nullable() })),
  more: z.boolean(),
});
const TemplateParams = z.object({ templateId: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'template ids are kebab-case folder names') });
const TemplateLocales = z.object({ locales: z.array(z.string()) });
const CampaignWindow = z.object({ from: z.string().optional(), to: z.string().optional() });

export interface ConsoleAppOptions {
  logger: Logger;
  /** `scrypt$<salt>$<hash>` of the operators' password. */
  passwordHash: string;
  sessionTtlMs: number;
  upstream: Upstream;
  audit: AuditLog;
  /** The built app (`dist/web`); missing, `/` says how to build it. */
  webDir: string;
  /** `/readyz` checks besides none (the console's database). */
  readiness: Readiness;
  /** Failed logins an address may make per `loginWindowMs` (default 5 per 15 minutes). */
  loginAttempts?: number;
  loginWindowMs?: number;
  /** Milliseconds since the epoch; injected by tests. */
  now?: () => number;
}

/**
 * Framing by the console itself only for the template preview; everything else may not be framed.
 * ECharts writes tooltip markers with inline `style` attributes, hence 'unsafe-inline' for styles
 * (not for scripts).
 */
const contentSecurityPolicy = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    frameSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/** A rendered email shown in an iframe: no scripts, no requests but images and fonts over https. */
const previewPolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https: data:; frame-ancestors 'self'";

const Login = z.object({ password: z.string().min(1).max(1024) });
const Period = z
  .object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() })
  .refine((p) => p.from === undefined || p.to === undefined || Date.parse(p.from) < Date.parse(p.to), { message: 'from must be before to', path: ['to'] });
const IdParams = z.object({ id: z.string().min(1).max(200) });
const CouponQuery = z.object({ campaignId: z.string().min(1).max(200).optional() });
const Lookup = z.object({ q: z.string().trim().min(1).max(320) });
const Why = z.object({ campaign: z.string().min(1).max(200) });
const Locale = z.object({ locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a locale such as en or pt-BR').optional() });
const Service = z.enum(serviceNames);
const RecordsQuery = z.object({ service: Service, topic: z.string().min(1).max(300), reason: z.string().min(1).max(300).optional(), limit: z.coerce.number().int().min(1).max(500).optional() });
const Offset = z.union([z.string().regex(/^\d+$/, 'a whole number'), z.number().int().nonnegative()]);
const Republish = z
  .object({ service: Service, topic: z.string().min(1).max(300), partition: z.number().int().nonnegative().optional(), offset: Offset.optional(), reason: z.string().min(1).max(300).optional() })
  .refine((b) => (b.partition !== undefined && b.offset !== undefined) !== (b.reason !== undefined), {
    message: 'give either partition and offset (one record) or reason (every record with it)',
    path: ['reason'],
  });

const Clock = z.looseObject({ now: z.iso.datetime({ offset: true }) });
const Stages = z.looseObject({ stages: z.record(z.string(), z.number()) });
const Retention = z.looseObject({
  customerRetentionRate: z.number().nullable(),
  churnRate: z.number().nullable(),
  repeatPurchaseRate: z.number().nullable(),
  nps: z.number().nullable(),
  byCurrency: z.record(z.string(), z.unknown()),
});
const DeadLetterTopics = z.looseObject({ topics: z.array(z.unknown()) });
const Republished = z.looseObject({ republished: z.array(z.unknown()) });
const CampaignTemplate = z.looseObject({ templateId: z.string().min(1).optional(), template: z.string().min(1).optional() });
const Lag = z.looseObject({ groups: z.array(z.unknown()) });
const Checks = z.looseObject({ checks: z.record(z.string(), z.boolean()) });

/** Parses a service's answer; one the console cannot read is the service's fault: 502. */
function parseFrom<T>(service: UpstreamService, schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new UpstreamDown(service, `answered in an unexpected shape (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`);
  return parsed.data;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lifecycle console: not built</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto">
<h1>The console's web app is not built</h1>
<p>The server runs, but <code>services/console/dist/web</code> does not exist yet. Build it with</p>
<pre>pnpm --filter @lifecycle/console build:web</pre>
<p>(<code>./lifecycle start</code> does this for you) and reload this page.</p>
</body></html>`;

/**
 * The console's HTTP app: a login, the `/api` routes the web app reads (each aggregating the
 * services' HTTP APIs through `upstream`), and the built web app with `index.html` for any other path.
 */
export async function createConsoleApp(opts: ConsoleAppOptions): Promise<FastifyInstance> {
  const now = opts.now ?? Date.now;
  const { upstream, audit } = opts;
  const sessions = createSessionStore({ ttlMs: opts.sessionTtlMs, now });
  const limiter = createLoginLimiter({ max: opts.loginAttempts ?? 5, windowMs: opts.loginWindowMs ?? 15 * 60_000, now });
  const app = createBaseApp({ logger: opts.logger, readiness: opts.readiness });

  await app.register(fastifyHelmet, { contentSecurityPolicy, crossOriginEmbedderPolicy: false, frameguard: { action: 'deny' } });
  await app.register(fastifyCookie);

  const webBuilt = existsSync(join(opts.webDir, 'index.html'));
  // Files are looked up per request (wildcard route), so an app rebuilt while the console runs is served as built.
  if (webBuilt) await app.register(fastifyStatic, { root: opts.webDir, index: 'index.html' });
  app.setNotFoundHandler((request, reply) => {
    if (request.url === '/api' || request.url.startsWith('/api/')) return reply.status(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply.status(404).send({ error: 'not found' });
    // Client-side routes (/customers/42) are the app's: its index.html routes them.
    if (webBuilt) return reply.header('cache-control', 'no-cache').sendFile('index.html');
    return reply.status(503).type('text/html; charset=utf-8').send(notBuiltPage);
  });

  await app.register(
    async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        reply.header('cache-control', 'no-store');
        const path = request.url.split('?')[0];
        if (path === '/api/login' || path === '/api/session') return;
        const session = sessions.get(request.cookies[sessionCookie]);
        if (session === undefined) return reply.status(401).send({ error: 'not logged in' });
        if (request.method === 'GET' || request.method === 'HEAD') return;
        const given = request.headers['x-csrf-token'];
        if (typeof given !== 'string' || !sameToken(given, session.csrfToken)) return reply.status(403).send({ error: 'missing or wrong x-csrf-token header' });
      });

      api.setErrorHandler((err, request, reply) => {
        if (err instanceof UpstreamDown) return reply.status(502).send({ error: err.message, service: err.service });
        if (err instanceof UpstreamRefused) return reply.status(err.status).send({ error: err.message, service: err.service });
        if (err instanceof ZodError) {
          return reply.status(400).send({ error: 'invalid request', issues: err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) });
        }
        throw err;
      });

      api.post('/login', async (request, reply) => {
        const address = request.ip;
        const wait = limiter.retryAfterMs(address);
        if (wait > 0) {
          request.log.warn({ address }, 'login refused: too many failed attempts');
          return reply.status(429).header('retry-after', String(Math.ceil(wait / 1000))).send({ error: `too many failed logins from this address; try again in ${Math.ceil(wait / 60_000)} minutes` });
        }
        const { password } = Login.parse(request.body);
        if (!(await verifyPassword(password, opts.passwordHash))) {
          limiter.failed(address);
          request.log.warn({ address }, 'login failed');
          return reply.status(401).send({ error: 'wrong password' });
        }
        limiter.succeeded(address);
        sessions.delete(request.cookies[sessionCookie]);
        const { id, session } = sessions.create();
        reply.setCookie(sessionCookie, id, {
          httpOnly: true,
          sameSite: 'strict',
          path: '/',
          secure: request.protocol === 'https',
          maxAge: Math.floor(opts.sessionTtlMs / 1000),
        });
        request.log.info('operator logged in');
        return { csrfToken: session.csrfToken };
      });

      api.get('/session', async (request) => {
        const session = sessions.get(request.cookies[sessionCookie]);
        return session === undefined ? { authenticated: false, csrfToken: null } : { authenticated: true, csrfToken: session.csrfToken };
      });

      api.post('/logout', async (request, reply) => {
        sessions.delete(request.cookies[sessionCookie]);
        reply.clearCookie(sessionCookie, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
        return { authenticated: false };
      });

      api.get('/overview', async (request) => {
        const period = Period.parse(request.query);
        const to = period.to !== undefined ? new Date(period.to) : await serviceNow();
        const from = period.from !== undefined ? new Date(period.from) : defaultWindow(to).from;
        if (from >= to) return reqError(400, 'from must be before to');
        const months = monthBuckets(from, to);
        if (months.length > 36) return reqError(400, 'the window spans more than 36 months; choose a shorter one');
        const window = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
        const [stages, stageFlows, retention, messages] = await Promise.all([
          upstream.getFound('classifier', '/stages').then((b) => parseFrom('classifier', Stages, b).stages),
          upstream.getFound('classifier', `/metrics/stage-flows?${window}&bucket=month`),
          Promise.all(
            months.map(async (m) => {
              const body = await upstream.getFound('classifier', `/metrics/retention?from=${encodeURIComponent(m.start.toISOString())}&to=${encodeURIComponent(m.end.toISOString())}`);
              const r = parseFrom('classifier', Retention, body);
              return {
                start: m.start.toISOString(),
                end: m.end.toISOString(),
                customerRetentionRate: r.customerRetentionRate,
                churnRate: r.churnRate,
                repeatPurchaseRate: r.repeatPurchaseRate,
                nps: r.nps,
                byCurrency: r.byCurrency,
              };
            }),
          ),
          upstream.getFound('messaging', `/metrics/messages?${window}`),
        ]);
        return { from: from.toISOString(), to: to.toISOString(), stages, stageFlows, months: retention, messages, definitions: metricDefinitions };
      });

      api.get('/measurement', async () => {
        // Programme lift and sunset are the scheduler's (docs/measurement-and-consent.md): an
        // older scheduler (404) or one that does not answer hides them on the overview, which
        // still shows everything else; a figure the console could not read is never a zero.
        const optional = async (path: string): Promise<unknown> => {
          try {
            const answer = await upstream.get('scheduler', path);
            return answer.status === 'ok' ? answer.body : null;
          } catch (err) {
            if (err instanceof UpstreamDown || err instanceof UpstreamRefused) return null;
            throw err;
          }
        };
        const [programme, sunset] = await Promise.all([optional('/programme/stats'), optional('/sunset/stats')]);
        return { programme, sunset };
      });
      api.get('/campaigns', async (request) => {
        // A window (`from`, `to`) goes to the scheduler as given; it says what is wrong with one.
        const { from, to } = CampaignWindow.parse(request.query);
        return upstream.getFound('scheduler', from !== undefined && to !== undefined ? `/campaigns?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}` : '/campaigns');
      });
      api.get('/campaigns/:id', async (request) => {
        const { id } = IdParams.parse(request.params);
        const answer = await upstream.getFound('scheduler', `/campaigns/${encodeURIComponent(id)}`);
        // The locales the preview can render are the template's (messaging's), not the campaign file's.
        const campaign = CampaignTemplate.safeParse(answer);
        const templateId = campaign.success ? (campaign.data.templateId ?? campaign.data.template) : undefined;
        if (templateId === undefined || typeof answer !== 'object' || answer === null) return answer;
        const template = await upstream.get('messaging', `/templates/${encodeURIComponent(templateId)}`).catch(() => null);
        const locales = template?.status === 'ok' ? TemplateLocales.safeParse(template.body) : null;
        return locales?.success === true ? { ...answer, templateLocales: locales.data.locales } : answer;
      });
      api.get('/coupons', async (request) => {
        // Messaging's coupon figures; a messaging without coupons (404) is "none", not an error.
        const { campaignId } = CouponQuery.parse(request.query);
        const answer = await upstream.get('messaging', campaignId === undefined ? '/coupons/stats' : `/coupons/stats?campaignId=${encodeURIComponent(campaignId)}`);
        if (answer.status === 'not-found' || typeof answer.body !== 'object' || answer.body === null) return { available: false, pools: [], campaigns: [] };
        return { available: true, pools: [], campaigns: [], ...answer.body };
      });
      api.get('/templates/:templateId/preview', async (request, reply) => {
        const { templateId } = TemplateParams.parse(request.params);
        const { locale } = Locale.parse(request.query);
        const page = await upstream.getText('messaging', `/preview/${encodeURIComponent(templateId)}${locale === undefined ? '' : `?locale=${encodeURIComponent(locale)}`}`);
        return reply
          .status(page.status)
          .header('content-security-policy', previewPolicy)
          .header('x-frame-options', 'SAMEORIGIN')
          .type(page.contentType.startsWith('text/html') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8')
          .send(page.text);
      });

      api.get('/customers/lookup', async (request, reply) => {
        const { q } = Lookup.parse(request.query);
        if (q.includes('@')) {
          const found = await upstream.get('scheduler', `/contacts?email=${encodeURIComponent(q)}`);
          if (found.status === 'not-found') return reply.status(404).send({ error: 'no customer has that email address' });
          return { customerId: parseFrom('scheduler', z.looseObject({ customerId: z.string() }), found.body).customerId };
        }
        const path = encodeURIComponent(q);
        const [classifier, scheduler] = await Promise.all([upstream.get('classifier', `/customers/${path}`), upstream.get('scheduler', `/contacts/${path}`)]);
        if (classifier.status === 'ok' || scheduler.status === 'ok') return { customerId: q };
        // Not an id: a name, then. One match is the customer; several are listed to choose from.
        if (q.trim().length < 2) return reply.status(404).send({ error: `no customer with id ${q}` });
        const byName = await upstream.get('scheduler', `/contacts?name=${encodeURIComponent(q.trim())}`);
        const found = byName.status === 'ok' ? parseFrom('scheduler', NameMatches, byName.body) : { contacts: [], more: false };
        if (found.contacts.length === 0) return reply.status(404).send({ error: `no customer with id ${q}, nor with a name containing it` });
        if (found.contacts.length === 1 && found.contacts[0] !== undefined) return { customerId: found.contacts[0].customerId };
        return { matches: found.contacts, more: found.more };
      });

      api.get('/customers/:id', async (request, reply) => {
        const { id } = IdParams.parse(request.params);
        const path = encodeURIComponent(id);
        const [classifier, contact, jobs, messages, consent] = await Promise.all([
          upstream.get('classifier', `/customers/${path}`),
          upstream.get('scheduler', `/contacts/${path}`),
          upstream.get('scheduler', `/customers/${path}/jobs`),
          upstream.get('messaging', `/customers/${path}/messages`),
          upstream.get('messaging', `/customers/${path}/consent`),
        ]);
        if (classifier.status === 'not-found' && contact.status === 'not-found' && messages.status === 'not-found') {
          return reply.status(404).send({ error: `no service knows a customer with id ${id}` });
        }
        const customer = classifier.status === 'ok' ? parseFrom('classifier', ClassifierCustomer, classifier.body) : null;
        const jobList = jobs.status === 'ok' ? parseFrom('scheduler', CustomerJobs, jobs.body).jobs : [];
        const messageList = messages.status === 'ok' ? parseFrom('messaging', CustomerMessages, messages.body).messages : [];
        return {
          customerId: id,
          profile: customer?.profile ?? null,
          rfm: customer?.rfm ?? null,
          stageHistory: customer?.history ?? [],
          contact: contact.status === 'ok' ? contact.body : null,
          jobs: jobList,
          messages: messageList,
          consent: consent.status === 'ok' ? consent.body : null,
          timeline: mergeTimeline({ customer, jobs: jobList, messages: messageList }),
        };
      });

      api.get('/customers/:id/why', async (request) => {
        const { id } = IdParams.parse(request.params);
        const { campaign } = Why.parse(request.query);
        return upstream.getFound('scheduler', `/customers/${encodeURIComponent(id)}/why?campaign=${encodeURIComponent(campaign)}`);
      });

      api.get('/dead-letters', async () => ({
        services: await Promise.all(
          serviceNames.map(async (service) => ({ service, topics: parseFrom(service, DeadLetterTopics, await upstream.getFound(service, '/dead-letters')).topics })),
        ),
      }));

      api.get('/dead-letters/records', async (request) => {
        const q = RecordsQuery.parse(request.query);
        const params = new URLSearchParams({ topic: q.topic, limit: String(q.limit ?? 50) });
        if (q.reason !== undefined) params.set('reason', q.reason);
        return upstream.getFound(q.service, `/dead-letters/records?${params.toString()}`);
      });

      api.post('/dead-letters/republish', async (request) => {
        const { service, ...target } = Republish.parse(request.body);
        const body = target.reason !== undefined ? { topic: target.topic, reason: target.reason } : { topic: target.topic, partition: target.partition, offset: target.offset };
        const entry = { actor: 'operator', action: 'dead-letters.republish', target: { service, ...body } };
        let republished: unknown[];
        try {
          republished = parseFrom(service, Republished, await upstream.post(service, '/dead-letters/republish', body)).republished;
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          await audit.record({ ...entry, result: 'failed', detail: { error: reason } });
          throw err;
        }
        const auditId = await audit.record({ ...entry, result: 'ok', detail: { republished } });
        request.log.info({ upstream: service, topic: target.topic, records: republished.length, auditId }, 'dead letters re-published');
        return { republished, auditId };
      });

      api.get('/audit', async () => ({ entries: await audit.list(100) }));

      api.get('/system', async () => ({
        services: await Promise.all(
          serviceNames.map(async (service) => {
            const [readiness, lag] = await Promise.allSettled([upstream.readiness(service), upstream.getFound(service, '/admin/consumer-lag')]);
            const checks = readiness.status === 'fulfilled' ? Checks.safeParse(readiness.value.body) : undefined;
            const lagBody = lag.status === 'fulfilled' ? Lag.safeParse(lag.value) : undefined;
            const failure = [readiness, lag].find((r) => r.status === 'rejected');
            return {
              service,
              url: upstream.urls[service],
              ready: readiness.status === 'fulfilled' && readiness.value.ready,
              checks: checks?.success === true ? checks.data.checks : null,
              lag: lagBody?.success === true ? lagBody.data.groups : null,
              error: failure === undefined ? null : failure.reason instanceof Error ? failure.reason.message : String(failure.reason),
            };
          }),
        ),
      }));

      /** The scheduler's clock (simulated in a demo), else this machine's. */
      async function serviceNow(): Promise<Date> {
        try {
          return new Date(parseFrom('scheduler', Clock, await upstream.getFound('scheduler', '/admin/clock')).now);
        } catch (err) {
          if (!(err instanceof UpstreamDown)) throw err;
          return new Date(now());
        }
      }
    },
    { prefix: '/api' },
  );
  return app;
}

function reqError(status: number, message: string): never {
  throw Object.assign(new Error(message), { statusCode: status });
}
