import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ZodError } from 'zod';

export type { FastifyInstance };

/**
 * The path of a request URL, without its query string: query strings carry tokens
 * (`/unsubscribe?token=…`) and sometimes addresses, and request logs must print neither.
 */
export function loggablePath(url: string): string {
  const at = url.search(/[?#]/);
  // Link tokens in a path (messaging's `/preferences/<token>`, `/confirm/<token>`) are not printed either.
  return (at === -1 ? url : url.slice(0, at)).replace(/v2\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/g, ':token');
}

/** pino's view of a fastify request: method and path, never the query string or headers. */
export function serializeRequest(req: unknown): Record<string, unknown> {
  if (typeof req !== 'object' || req === null) return {};
  const field = (key: string): unknown => (key in req ? Reflect.get(req, key) : undefined);
  const url = field('url');
  const socket = field('socket');
  return {
    method: field('method'),
    url: typeof url === 'string' ? loggablePath(url) : undefined,
    remoteAddress: field('ip'),
    remotePort: typeof socket === 'object' && socket !== null && 'remotePort' in socket ? socket.remotePort : undefined,
  };
}

/** fastify's request logging, minus the query string it prints for unknown routes. */
class PathOnlyLogController extends LogController {
  override routeNotFound(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.info({ method: request.raw.method, url: loggablePath(request.raw.url ?? '') }, 'route not found');
  }
}

/**
 * Routes that stay open when `SERVICE_TOKEN` is set: probes, scrapes and docs, and the routes
 * whose callers prove themselves otherwise (ingestion's tracking API: Segment write keys;
 * messaging's SendGrid webhook: signed; unsubscribe, preference and confirmation links: signed tokens). A pattern is a route
 * as registered (`/customers/:id`); one ending in `/*` opens every route under it.
 */
export const openRoutes: readonly string[] = ['/healthz', '/readyz', '/metrics', '/docs', '/docs/openapi.json', '/v1/*', '/webhooks/sendgrid', '/unsubscribe', '/preferences/:token', '/confirm/:token'];

/**
 * Whether a route is open. Matched on the route's registered pattern, not the request path, so
 * a path that routes elsewhere (or nowhere: a 404) never borrows an open route's standing.
 */
export function isOpenRoute(route: string | undefined, open: readonly string[] = openRoutes): boolean {
  if (route === undefined) return false;
  return open.some((pattern) => (pattern.endsWith('/*') ? route.startsWith(pattern.slice(0, -1)) : route === pattern));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Whether an `Authorization` header carries the token, compared in constant time (digests are of equal length whatever was sent). */
export function carriesServiceToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const given = match?.[1];
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}

/** Named checks of `/readyz`. */
export type Readiness = Record<string, () => boolean | Promise<boolean>>;

export interface BaseAppOptions {
  logger: Logger;
  /** Named readiness checks; `/readyz` answers 503 while any is false. */
  readiness: Readiness;
  /**
   * Checks `/readyz` reports without gating on them: a dependency the service can do without for
   * a while (ingestion keeps accepting calls onto Kafka while its database is down).
   */
  informational?: Readiness;
  /** Given, every route outside `openRoutes` answers 401 without `Authorization: Bearer <serviceToken>`. */
  serviceToken?: string | undefined;
}

/**
 * A fastify app with the routes every service has: `/healthz` (the process is alive) and
 * `/readyz` (its consumers have joined and its database answers), and one error handler.
 */
export function createBaseApp({ logger, readiness, informational = {}, serviceToken }: BaseAppOptions): FastifyInstance {
  // fastify merges these over its own serializers, which would print the query string.
  const loggerInstance: FastifyBaseLogger = logger.child({}, { serializers: { req: serializeRequest } });
  // Probes and scrapes hit /healthz, /readyz and /metrics every few seconds; logging each would drown real traffic.
  const logController = new PathOnlyLogController({ disableRequestLogging: (req) => ['/healthz', '/readyz', '/metrics'].includes(loggablePath(req.url)) });
  const app = Fastify({ loggerInstance, logController });

  if (serviceToken !== undefined) {
    // A root hook runs for every route, those of plugins registered later included, and for 404s.
    app.addHook('onRequest', async (request, reply) => {
      if (isOpenRoute(request.routeOptions.url) || carriesServiceToken(request.headers.authorization, serviceToken)) return;
      return reply.status(401).header('www-authenticate', 'Bearer realm="lifecycle"').send({ error: 'missing or wrong service token' });
    });
  }

  app.setErrorHandler((err: FastifyError | ZodError, request, reply) => {
    if (err instanceof ZodError) {
      return reply.status(400).send({
        error: 'invalid request',
        issues: err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
      });
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.status(status).send({ error: 'internal error' });
    }
    return reply.status(status).send({ error: err.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(readiness)) checks[name] = await check();
    const ready = Object.values(checks).every(Boolean);
    for (const [name, check] of Object.entries(informational)) checks[name] = await check();
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  return app;
}
