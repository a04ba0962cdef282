import { z } from 'zod';
import { traitsOf, type SegmentCall } from '@lifecycle/contracts';

export const EMAIL_UNSUBSCRIBED = 'Email Unsubscribed';

const Address = z.string().trim().toLowerCase().pipe(z.email());
const UnsubscribedProperties = z.looseObject({ email: Address.optional() });

/**
 * The address a Segment `Email Unsubscribed` call opts out: `properties.email` (E-commerce
 * Spec), else the customer's email in its traits. Null for any other call, or when neither
 * holds a usable address.
 */
export function unsubscribedAddress(call: SegmentCall): string | null {
  if (call.type !== 'track' || call.event !== EMAIL_UNSUBSCRIBED) return null;
  const properties = UnsubscribedProperties.safeParse(call.properties);
  if (properties.success && properties.data.email !== undefined) return properties.data.email;
  const fromTraits = Address.safeParse(traitsOf(call).email);
  return fromTraits.success ? fromTraits.data : null;
}
