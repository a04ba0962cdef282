import type { Logger, TopicConsumerOptions } from '@lifecycle/kit';
import type { SuppressionsRepository } from './db/suppressions-repository.ts';
import { unsubscribedAddress } from './domain/unsubscribe-event.ts';

/** Suppresses marketing mail for the address of every `Email Unsubscribed` on `lifecycle.events`. */
export function unsubscribeEventHandler(deps: { suppressions: SuppressionsRepository; logger: Logger; now: () => Date }): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  return async (event) => {
    const email = unsubscribedAddress(event.payload.call);
    if (email === null) return;
    // Idempotent: a redelivered event finds the address already suppressed.
    await deps.suppressions.suppress(email, 'unsubscribed', 'email-unsubscribed-event', deps.now());
    deps.logger.info({ eventId: event.id, customerId: event.customerId }, 'address suppressed after an Email Unsubscribed event');
  };
}
