import { Counter, Gauge, Registry, type Logger } from '@lifecycle/kit';
import { sendStatuses } from './domain/send-policy.ts';

/** Outcomes, provider retries and webhook events counted since the process started, and messages by status. */
export interface MessagingMetrics {
  countOutcome: (outcome: 'sent' | 'failed' | 'doubtful' | 'suppressed' | 'skipped') => void;
  countRetry: (reason: 'rate-limited' | 'provider-error' | 'unreachable') => void;
  countWebhookEvent: (event: string) => void;
  /** `GET /metrics?format=json`: the same numbers as the Prometheus text. */
  json: () => Promise<MetricsJson>;
  registry: Registry;
}

export interface MetricsJson {
  messages: Record<string, number>;
  outcomes: Record<string, number>;
  retries: Record<string, number>;
  webhookEvents: Record<string, number>;
}

export interface MessagingMetricsOptions {
  /** Where the metrics are registered; default: a registry of their own. */
  registry?: Registry;
  /** Messages per send status, from the database, so doubtful sends stay visible across restarts. */
  byStatus: () => Promise<Partial<Record<string, number>>>;
  logger: Logger;
}

async function valuesOf(counter: Counter<string>, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await counter.get()).values) {
    const key = v.labels[label];
    if (key !== undefined) out[String(key)] = v.value;
  }
  return out;
}

/**
 * Messaging's metrics on prom-client: `lifecycle_messaging_messages` (gauge by status, read
 * from the database on each scrape) and this process's `_total` counters.
 */
export function createMessagingMetrics(opts: MessagingMetricsOptions): MessagingMetrics {
  const registry = opts.registry ?? new Registry();
  const registers = [registry];
  const outcomes = new Counter({ name: 'lifecycle_messaging_outcomes_total', help: 'Send outcomes recorded by this process.', labelNames: ['outcome'], registers });
  const retries = new Counter({ name: 'lifecycle_messaging_provider_retries_total', help: 'Provider calls that were not accepted and were tried again.', labelNames: ['reason'], registers });
  const webhookEvents = new Counter({ name: 'lifecycle_messaging_webhook_events_total', help: 'SendGrid webhook events received, by SendGrid event name.', labelNames: ['event'], registers });

  const byStatus = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = Object.fromEntries(sendStatuses.map((s) => [s, 0]));
    for (const [status, n] of Object.entries(await opts.byStatus())) counts[status] = n ?? 0;
    return counts;
  };
  const messages = new Gauge({
    name: 'lifecycle_messaging_messages',
    help: 'Messages by send status (claimed, sending, sent, failed, doubtful, suppressed, skipped), from the database.',
    labelNames: ['status'],
    registers,
    collect: async () => {
      messages.reset();
      try {
        for (const [status, n] of Object.entries(await byStatus())) messages.set({ status }, n);
      } catch (err) {
        // Process and lag metrics still matter while the database is down; this family stays empty.
        opts.logger.warn({ err }, 'messages by status not read for /metrics');
      }
    },
  });

  return {
    countOutcome: (outcome) => outcomes.inc({ outcome }),
    countRetry: (reason) => retries.inc({ reason }),
    countWebhookEvent: (event) => webhookEvents.inc({ event }),
    json: async () => ({
      messages: await byStatus(),
      outcomes: await valuesOf(outcomes, 'outcome'),
      retries: await valuesOf(retries, 'reason'),
      webhookEvents: await valuesOf(webhookEvents, 'event'),
    }),
    registry,
  };
}
