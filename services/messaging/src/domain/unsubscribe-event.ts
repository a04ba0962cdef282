import { z } from 'zod';
import { traitsOf, type SegmentCall } from '@lifecycle/contracts';

export const EMAIL_SUBSCRIBED = 'Email Subscribed';
export const EMAIL_UNSUBSCRIBED = 'Email Unsubscribed';

const Address = z.string().trim().toLowerCase().pipe(z.email());
const ConsentProperties = z.looseObject({ email: Address.optional() });

/** The customer's choice an `Email Subscribed` / `Email Unsubscribed` call states, and the address it names. */
export interface ConsentEvent {
  kind: 'subscribe' | 'unsubscribe';
  /** `properties.email` (E-commerce Spec), else the customer's email in its traits; null when neither is usable. */
  email: string | null;
}

/** Null for any call other than `Email Subscribed` / `Email Unsubscribed`. */
export function consentEventOf(call: SegmentCall): ConsentEvent | null {
  if (call.type !== 'track' || (call.event !== EMAIL_SUBSCRIBED && call.event !== EMAIL_UNSUBSCRIBED)) return null;
  const kind = call.event === EMAIL_SUBSCRIBED ? 'subscribe' : 'unsubscribe';
  const properties = ConsentProperties.safeParse(call.properties);
  if (properties.success && properties.data.email !== undefined) return { kind, email: properties.data.email };
  const fromTraits = Address.safeParse(traitsOf(call).email);
  return { kind, email: fromTraits.success ? fromTraits.data : null };
}
