import type { ConsentSettings } from '@lifecycle/contracts';
import type { Logger, TopicConsumerOptions } from '@lifecycle/kit';
import type { ConsentKeeper } from './consent-keeper.ts';
import type { ConsentInput } from './domain/consent.ts';
import { confirmationRequest, doubleOptInRequest, needsDoubleOptIn } from './domain/double-opt-in.ts';
import { confirmLink } from './domain/unsubscribe-token.ts';
import { consentEventOf } from './domain/unsubscribe-event.ts';
import type { UnsubscribeTokens } from './unsubscribe-tokens.ts';

export interface ConsentEventDeps {
  consent: ConsentKeeper;
  logger: Logger;
  /** `_consent.yaml`'s double opt-in; absent: none. */
  doubleOptIn?: ConsentSettings['doubleOptIn'];
  /** Signs the confirmation link; unset (no secret): a subscription still waits for confirmation, but no mail can carry the link. */
  tokens?: UnsubscribeTokens | undefined;
  publicUrl?: string;
  now?: () => Date;
}

/**
 * `Email Subscribed` / `Email Unsubscribed` on `lifecycle.events` change the customer's consent,
 * as of when the customer acted (the event's time), so a late or redelivered event changes nothing.
 * Where the store asks for a double opt-in, a subscription waits (`unconfirmed`) and its
 * confirmation mail is requested on `messages.requested` in the transaction that records it.
 */
export function consentEventHandler(deps: ConsentEventDeps): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  const now = deps.now ?? (() => new Date());
  return async (event) => {
    const { call } = event.payload;
    const stated = consentEventOf(call);
    if (stated === null) return;
    const at = new Date(event.occurredAt);
    const target = { customerId: event.customerId, email: stated.email };
    const confirming = stated.kind === 'subscribe' && deps.doubleOptIn !== undefined && needsDoubleOptIn(deps.doubleOptIn, call);
    const input: ConsentInput =
      stated.kind === 'subscribe'
        ? { kind: 'subscribe', at, source: 'email-subscribed-event', ...(confirming ? { doubleOptIn: doubleOptInRequest(call, event.id) } : {}) }
        : { kind: 'unsubscribe', at, source: 'email-unsubscribed-event' };
    const email = stated.email;
    let confirmUrl: string | null = null;
    if (confirming && email !== null && deps.tokens !== undefined && deps.publicUrl !== undefined) {
      // Issued before the transaction (it only names the address); a redelivery gets the same token.
      const locale = call.context?.locale ?? call.context?.traits?.locale;
      confirmUrl = confirmLink({ token: await deps.tokens.issue(email, now(), 'confirm'), publicUrl: deps.publicUrl, locale });
    }
    const decision = await deps.consent.record(target, input, event.id, (decided) => {
      if (decided.outcome === 'unchanged' || decided.askConfirmation !== true || email === null || confirmUrl === null) return [];
      return [confirmationRequest({ customerId: event.customerId, eventId: event.id, email, call, confirmUrl, now: now() })];
    });
    if (email !== null) await deps.consent.remember(email, event.customerId);
    if (decision.outcome !== 'unchanged' && decision.askConfirmation === true && confirmUrl === null) {
      deps.logger.warn({ eventId: event.id, customerId: event.customerId }, 'double opt-in: no confirmation mail could be requested (no address, or UNSUBSCRIBE_SECRET is not set); the subscription waits unconfirmed');
    }
    deps.logger.info({ eventId: event.id, customerId: event.customerId, outcome: decision.outcome, doubleOptIn: confirming }, 'consent event applied');
  };
}
