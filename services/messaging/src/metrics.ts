/** Outcomes and provider retries counted since the process started, for `GET /metrics`. */
export interface MessagingMetrics {
  countOutcome: (outcome: 'sent' | 'failed' | 'doubtful' | 'suppressed') => void;
  countRetry: (reason: 'rate-limited' | 'provider-error' | 'unreachable') => void;
  countWebhookEvent: (event: string) => void;
  snapshot: () => MetricsSnapshot;
}

export interface MetricsSnapshot {
  outcomes: Record<string, number>;
  retries: Record<string, number>;
  webhookEvents: Record<string, number>;
}

export function createMessagingMetrics(): MessagingMetrics {
  const outcomes = new Map<string, number>();
  const retries = new Map<string, number>();
  const webhookEvents = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string): void => {
    map.set(key, (map.get(key) ?? 0) + 1);
  };
  return {
    countOutcome: (outcome) => bump(outcomes, outcome),
    countRetry: (reason) => bump(retries, reason),
    countWebhookEvent: (event) => bump(webhookEvents, event),
    snapshot: () => ({ outcomes: Object.fromEntries(outcomes), retries: Object.fromEntries(retries), webhookEvents: Object.fromEntries(webhookEvents) }),
  };
}

function labelValue(value: string): string {
  return value.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * Prometheus text exposition. `messages_by_status` comes from the database, so doubtful sends
 * stay visible across restarts; the `_total` counters are this process's own.
 */
export function prometheusText(snapshot: MetricsSnapshot, byStatus: Record<string, number>): string {
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, label: string, values: Record<string, number>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [key, value] of Object.entries(values).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${name}{${label}="${labelValue(key)}"} ${value}`);
  };
  family('lifecycle_messaging_messages', 'gauge', 'Messages by send status (claimed, sending, sent, failed, doubtful, suppressed), from the database.', 'status', byStatus);
  family('lifecycle_messaging_outcomes_total', 'counter', 'Send outcomes recorded by this process.', 'outcome', snapshot.outcomes);
  family('lifecycle_messaging_provider_retries_total', 'counter', 'Provider calls that were not accepted and were tried again.', 'reason', snapshot.retries);
  family('lifecycle_messaging_webhook_events_total', 'counter', 'SendGrid webhook events received, by SendGrid event name.', 'event', snapshot.webhookEvents);
  return `${lines.join('\n')}\n`;
}
