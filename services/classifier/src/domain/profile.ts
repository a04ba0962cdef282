import { traitsOf, type LifecycleEvent, type Stage } from '@lifecycle/contracts';

/** What the classifier knows of one customer, built only from lifecycle events. */
export interface Profile {
  customerId: string;
  stage: Stage | null;
  email: string | null;
  firstName: string | null;
  firstSeenAt: string;
  lastEventAt: string;
  /** Product views, cart adds and checkouts: signs of intent before an order. */
  intentSignals: number;
  orderCount: number;
  firstOrderAt: string | null;
  lastOrderAt: string | null;
}

const intentEvents = new Set(['Product Viewed', 'Product Added', 'Product Added to Wishlist', 'Cart Viewed', 'Checkout Started']);

export function emptyProfile(customerId: string, at: string): Profile {
  return {
    customerId,
    stage: null,
    email: null,
    firstName: null,
    firstSeenAt: at,
    lastEventAt: at,
    intentSignals: 0,
    orderCount: 0,
    firstOrderAt: null,
    lastOrderAt: null,
  };
}

const earlier = (a: string | null, b: string): string => (a === null || b < a ? b : a);
const later = (a: string | null, b: string): string => (a === null || b > a ? b : a);

/** Folds one event into the profile. Times are event times, not arrival times. */
export function applyEvent(profile: Profile, event: LifecycleEvent): Profile {
  const { call } = event.payload;
  const at = event.occurredAt;
  const traits = traitsOf(call);
  const next: Profile = {
    ...profile,
    email: traits.email ?? profile.email,
    firstName: traits.first_name ?? traits.firstName ?? profile.firstName,
    firstSeenAt: earlier(profile.firstSeenAt, at),
    lastEventAt: later(profile.lastEventAt, at),
  };
  if (call.type !== 'track') return next;
  if (call.event === 'Order Completed') {
    return { ...next, orderCount: next.orderCount + 1, firstOrderAt: earlier(next.firstOrderAt, at), lastOrderAt: later(next.lastOrderAt, at) };
  }
  if (intentEvents.has(call.event)) return { ...next, intentSignals: next.intentSignals + 1 };
  return next;
}
