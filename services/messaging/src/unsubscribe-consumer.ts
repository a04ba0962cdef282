import type { Logger, TopicConsumerOptions } from '@lifecycle/kit';
import type { ConsentKeeper } from './consent-keeper.ts';
import { consentEventOf } from './domain/unsubscribe-event.ts';

/**
 * `Email Subscribed` / `Email Unsubscribed` on `lifecycle.events` change the customer's consent,
 * as of when the customer acted (the event's time), so a late or redelivered event changes nothing.
 */
export function consentEventHandler(deps: { consent: ConsentKeeper; logger: Logger }): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  return async (event) => {
    const stated = consentEventOf(event.payload.call);
    if (stated === null) return;
    const source = stated.kind === 'subscribe' ? 'email-subscribed-event' : 'email-unsubscribed-event';
    const decision = await deps.consent.record({ customerId: event.customerId, email: stated.email }, { kind: stated.kind, at: new Date(event.occurredAt), source }, event.id);
    if (stated.email !== null) await deps.consent.remember(stated.email, event.customerId);
    deps.logger.info({ eventId: event.id, customerId: event.customerId, outcome: decision.outcome }, 'consent event applied');
  };
}
