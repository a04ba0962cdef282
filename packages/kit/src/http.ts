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
  return at === -1 ? url : url.slice(0, at);
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
}

/**
 * A fastify app with the routes every service has: `/healthz` (the process is alive) and
 * `/readyz` (its consumers have joined and its database answers), and one error handler.
 */
export function createBaseApp({ logger, readiness, informational = {} }: BaseAppOptions): FastifyInstance {
  // fastify merges these over its own serializers, which would print the query string.
  const loggerInstance: FastifyBaseLogger = logger.child({}, { serializers: { req: serializeRequest } });
  // Probes and scrapes hit /healthz, /readyz and /metrics every few seconds; logging each would drown real traffic.
  const logController = new PathOnlyLogController({ disableRequestLogging: (req) => ['/healthz', '/readyz', '/metrics'].includes(loggablePath(req.url)) });
  const app = Fastify({ loggerInstance, logController });

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
