import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ZodError } from 'zod';

export type { FastifyInstance };

export interface BaseAppOptions {
  logger: Logger;
  /** Named readiness checks; `/readyz` answers 503 while any is false. */
  readiness: Record<string, () => boolean | Promise<boolean>>;
  /**
   * Checks `/readyz` reports without gating on them: a dependency the service can do without for
   * a while (ingestion keeps accepting calls onto Kafka while its database is down).
   */
  informational?: Record<string, () => boolean | Promise<boolean>>;
}

/**
 * A fastify app with the routes every service has: `/healthz` (the process is alive) and
 * `/readyz` (its consumers have joined and its database answers), and one error handler.
 */
export function createBaseApp({ logger, readiness, informational = {} }: BaseAppOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = logger;
  // Probes hit /healthz and /readyz every few seconds; logging each would drown real traffic.
  const logController = new LogController({ disableRequestLogging: (req) => req.url === '/healthz' || req.url === '/readyz' });
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
