import { join } from 'node:path';
import { createLogger, createOutbox, openRuntime, type Logger, type Outbox, type Runtime } from '@lifecycle/kit';
import { loadConfig } from './config.ts';

export interface MessagingCommandOptions {
  /** The service's environment (`DATABASE_URL`, `KAFKA_BROKERS`, `TOPIC_PREFIX`). */
  env: Record<string, string | undefined>;
  /** The operator's clock; the wall clock unless a test gives its own. */
  now?: () => Date;
  /** How long the command waits for its records to reach Kafka before saying they did not (default 30 s). */
  publishTimeoutMs?: number;
}

export interface MessagingCommandContext {
  runtime: Runtime;
  /** Messaging's outbox: what the command writes goes out through it, as from the running service. */
  outbox: Outbox;
  logger: Logger;
  now: () => Date;
}

/**
 * Runs an operator's command (`consent:lift`, `messages:doubtful`, `messages:release-doubtful`)
 * with messaging's own code against its database (migrations applied, as at start-up), and
 * returns only once the records it committed to messaging's outbox are on Kafka: published by
 * this command's relay, or by the running service's when that one holds the relay's lease. When
 * Kafka does not take them in time the command fails saying so; the change itself stands, and the
 * running service (or the next command) publishes the records.
 */
export async function runMessagingCommand<T>(name: string, opts: MessagingCommandOptions, run: (ctx: MessagingCommandContext) => Promise<T>): Promise<T> {
  const config = loadConfig(opts.env);
  const now = opts.now ?? (() => new Date());
  const logger = createLogger(name, config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger });
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'messaging', prefix: runtime.prefix, logger, now });
  outbox.start();
  try {
    const result = await run({ runtime, outbox, logger, now });
    const timeoutMs = opts.publishTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const out = await Promise.race([outbox.drained(), late]).finally(() => clearTimeout(timer));
    if (out === 'late') {
      throw new Error(`the change is recorded, but its records did not reach Kafka within ${timeoutMs / 1000} s: they wait in messaging.outbox, and the running messaging service publishes them once Kafka answers`);
    }
    return result;
  } finally {
    await outbox.stop();
    await runtime.close();
  }
}
