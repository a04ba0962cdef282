import { count } from 'drizzle-orm';
import type { Database, FastifyInstance } from '@lifecycle/kit';
import { sends } from '../db/schema.ts';
import { prometheusText, type MessagingMetrics } from '../metrics.ts';

/** `GET /metrics`: Prometheus text; `?format=json` for the same numbers as JSON. */
export function metricsRoute(opts: { db: Database; metrics: MessagingMetrics }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/metrics', async (request, reply) => {
      const rows = await opts.db.select({ status: sends.status, n: count() }).from(sends).groupBy(sends.status);
      const byStatus: Record<string, number> = { claimed: 0, sending: 0, sent: 0, failed: 0, doubtful: 0, suppressed: 0 };
      for (const row of rows) byStatus[row.status] = row.n;
      const snapshot = opts.metrics.snapshot();
      const query = request.query;
      if (typeof query === 'object' && query !== null && 'format' in query && query.format === 'json') return { messages: byStatus, ...snapshot };
      return reply.type('text/plain; version=0.0.4').send(prometheusText(snapshot, byStatus));
    });
  };
}
