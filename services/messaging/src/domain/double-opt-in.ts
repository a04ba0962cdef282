import type { ConsentSettings, MessageRequested, SegmentCall } from '@lifecycle/contracts';
import type { DoubleOptInRequest } from './consent.ts';

/** The campaign id and template of the confirmation mail messaging requests itself. */
export const DOUBLE_OPT_IN_CAMPAIGN = 'double-opt-in';
export const CONFIRM_TEMPLATE = 'confirm-subscription';

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * The country a subscription call comes from: `properties.country`, else the address in the
 * traits, else the region of `context.locale` (`de-DE` → `DE`); null when none says.
 */
export function subscriptionCountry(call: SegmentCall): string | null {
  const code = (value: unknown): string | null => (typeof value === 'string' && /^[A-Za-z]{2}$/.test(value.trim()) ? value.trim().toUpperCase() : null);
  const context = record(call.context);
  const fromProperties = code(record('properties' in call ? call.properties : undefined).country);
  if (fromProperties !== null) return fromProperties;
  const fromTraits = code(record(record(context.traits).address).country);
  if (fromTraits !== null) return fromTraits;
  const locale = typeof context.locale === 'string' ? context.locale : '';
  return code(/^[A-Za-z]{2,3}[-_]([A-Za-z]{2})(?:[-_]|$)/.exec(locale)?.[1]);
}

/** Whether a subscription from this call must be confirmed by a double opt-in (`_consent.yaml`). */
export function needsDoubleOptIn(settings: ConsentSettings['doubleOptIn'], call: SegmentCall): boolean {
  if (settings.all) return true;
  if (settings.countries.length === 0) return false;
  const country = subscriptionCountry(call);
  return country !== null && settings.countries.includes(country);
}

/** Where the subscription came from, for the proof: the call's `context.ip` and `context.userAgent`. */
export function doubleOptInRequest(call: SegmentCall, eventId: string): DoubleOptInRequest {
  const context = record(call.context);
  return { eventId, ip: text(context.ip), userAgent: text(context.userAgent) };
}

/**
 * The confirmation mail of a double opt-in, as messaging requests it on `messages.requested`
 * (transactional: consent does not hold it back). One per subscription: its ids come from the
 * subscribing event, so a redelivery of that event requests nothing new.
 */
export function confirmationRequest(o: { customerId: string; eventId: string; email: string; call: SegmentCall; confirmUrl: string; now: Date }): MessageRequested {
  const context = record(o.call.context);
  const traits = record(context.traits);
  const firstName = text(traits.firstName) ?? text(traits.first_name);
  const name = text(traits.name) ?? ([firstName, text(traits.lastName) ?? text(traits.last_name)].filter((part) => part !== undefined).join(' ') || undefined);
  return {
    id: `double-opt-in:${o.eventId}`,
    type: 'message.requested',
    version: 1,
    occurredAt: o.now.toISOString(),
    customerId: o.customerId,
    causationId: o.eventId,
    payload: {
      dedupeKey: `${DOUBLE_OPT_IN_CAMPAIGN}:${o.customerId}:${o.eventId}`,
      campaignId: DOUBLE_OPT_IN_CAMPAIGN,
      templateId: CONFIRM_TEMPLATE,
      category: 'transactional',
      recipient: { email: o.email, ...(name === undefined ? {} : { name }) },
      locale: text(context.locale) ?? text(traits.locale) ?? 'en',
      timeZone: text(context.timezone) ?? text(traits.timezone) ?? 'UTC',
      data: {
        customer: { id: o.customerId, email: o.email, ...(firstName === undefined ? {} : { firstName }), ...(name === undefined ? {} : { name }) },
        confirmUrl: o.confirmUrl,
      },
    },
  };
}
