import { createServiceApp, type FastifyInstance, type Readiness, type Runtime } from '@lifecycle/kit';
import { openApiDocument } from './openapi.ts';
import { registerReadApi } from './read-api.ts';
import { classifierGroups } from './rebuild.ts';

/**
 * The classifier's HTTP app: health, `/metrics` with its consumer groups' lag, and the read API
 * (customers, stage counts, retention, stage flows) with its OpenAPI description at `/docs`. It starts nothing; `readiness` reports on the components
 * started beside it.
 */
export function createClassifierApp(opts: { runtime: Runtime; readiness: Readiness }): FastifyInstance {
  const app = createServiceApp(opts.runtime, { readiness: opts.readiness, metrics: { groups: classifierGroups } });
  registerReadApi(app, opts.runtime.db);
  const document = openApiDocument();
  app.get('/docs', async () => document);
  app.get('/docs/openapi.json', async () => document);
  return app;
}
