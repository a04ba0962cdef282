import { createConsentKeeper, type LiftResult } from './consent-keeper.ts';
import { createConsentRepository } from './db/consent-repository.ts';
import { createSuppressionsRepository } from './db/suppressions-repository.ts';
import { runMessagingCommand, type MessagingCommandOptions } from './messaging-command.ts';

export interface LiftConsentOptions extends MessagingCommandOptions {
  /** A customer id, or an email address (every customer messaging knows at that address). */
  target: string;
}

/**
 * `./lifecycle consent:lift <email|customerId>`: lifts a hard bounce or spam complaint, which
 * nothing else lifts. Runs messaging's own consent code against its database; each change is
 * written to messaging's outbox with the decision, and the command returns once it is on
 * `consent.changes`, so the scheduler and classifier follow. A customer's own opt-out stays: only
 * they re-subscribe.
 */
export async function liftConsent(opts: LiftConsentOptions): Promise<LiftResult> {
  return runMessagingCommand('messaging-consent-lift', opts, async ({ runtime, outbox, logger, now }) => {
    const keeper = createConsentKeeper({
      repository: createConsentRepository({ db: runtime.db, pool: runtime.pool, outbox }),
      suppressions: createSuppressionsRepository(runtime.db),
      logger,
      now,
    });
    return keeper.lift(opts.target.trim());
  });
}
