import { join } from 'node:path';
import { createLogger, openRuntime } from '@lifecycle/kit';
import { createConsentKeeper, type LiftResult } from './consent-keeper.ts';
import { loadConfig } from './config.ts';
import { createConsentRepository } from './db/consent-repository.ts';
import { createSuppressionsRepository } from './db/suppressions-repository.ts';

export interface LiftConsentOptions {
  /** The service's environment (`DATABASE_URL`, `KAFKA_BROKERS`, `TOPIC_PREFIX`). */
  env: Record<string, string | undefined>;
  /** A customer id, or an email address (every customer messaging knows at that address). */
  target: string;
  /** When the operator lifted it; the wall clock unless a test gives its own. */
  now?: () => Date;
}

/**
 * `./lifecycle consent:lift <email|customerId>`: lifts a hard bounce or spam complaint, which
 * nothing else lifts. Runs messaging's own consent code against its database (migrations
 * applied, as at start-up) and publishes the change on `consent.changes` before returning, so
 * the scheduler and classifier follow. A customer's own opt-out stays: only they re-subscribe.
 */
export async function liftConsent(opts: LiftConsentOptions): Promise<LiftResult> {
  const config = loadConfig(opts.env);
  const logger = createLogger('messaging-consent-lift', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger });
  try {
    const keeper = createConsentKeeper({
      repository: createConsentRepository(runtime.db, runtime.pool),
      suppressions: createSuppressionsRepository(runtime.db),
      producer: runtime.producer,
      prefix: runtime.prefix,
      logger,
      now: opts.now ?? (() => new Date()),
    });
    const result = await keeper.lift(opts.target.trim());
    // The lift is committed; make sure its record is out (a failure here names Kafka, and the running service publishes it later).
    await keeper.flush();
    return result;
  } finally {
    await runtime.close();
  }
}
