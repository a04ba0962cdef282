import { applyOrderEvent, emptyLedger, movesOrderValue, traitsOf, type ConsentChanged, type ConsentSource, type ConsentState, type LifecycleEvent, type MarketingFrequency } from '@lifecycle/contracts';
import { localDate, monthDay, zoneFor } from './local-time.ts';
import type { ContactState } from './planning.ts';
import { orderData } from './template-data.ts';

/** The contact row with the time its traits are as of; `asOf` decides which of two updates wins. */
export interface StoredContact extends ContactState {
  /** The latest event time seen for the customer. */
  asOf: Date;
  /** When the customer gave the consent now held (`consentAt` of the owner's latest record). */
  subscriptionAsOf: Date | null;
  /** The state of the latest `consent.changes` record applied, and its sequence (0: none yet). */
  consentState: ConsentState | null;
  consentSequence: number;
  /** The customer's preference-center choices, from the owner's latest record. */
  topicsOptedOut: string[];
  frequency: MarketingFrequency;
  /** The customer's latest open or click of any message (`messages.events`). */
  lastEngagedAt: Date | null;
  /** When the latest re-permission mail went; the sunset is lifted by engagement after it. */
  rePermissionSentAt: Date | null;
  /** When marketing stops for want of engagement (the re-permission send plus the grace); in force once passed. */
  sunsetAt: Date | null;
  /**
   * When each trait was last set (ISO time by trait name): a late identify still wins for the
   * email it carries, though newer events without an email came first.
   */
  traitsAsOf: Record<string, string>;
}

export function emptyContact(customerId: string, asOf: Date): StoredContact {
  return {
    customerId,
    email: null,
    firstName: null,
    name: null,
    locale: null,
    timeZone: null,
    stage: null,
    unsubscribed: false,
    birthday: null,
    firstOrderDate: null,
    signupDate: null,
    orders: emptyLedger(),
    currency: null,
    lastOrder: null,
    asOf,
    subscriptionAsOf: null,
    consentState: null,
    consentSequence: 0,
    topicsOptedOut: [],
    frequency: 'any',
    lastEngagedAt: null,
    rePermissionSentAt: null,
    sunsetAt: null,
    traitsAsOf: {},
  };
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * The contact after one lifecycle event. Traits from a newer event replace older ones and an
 * older event only fills gaps, so events applied out of order give the same contact; lifetime
 * spend adds up orders less refunds. Consent is not taken from events (`Email Subscribed` and
 * the like): messaging owns it and publishes it on `consent.changes` (see `contactAfterConsent`).
 */
export function contactAfterEvent(before: StoredContact, event: LifecycleEvent, storeTimeZone: string): StoredContact {
  const { call } = event.payload;
  const at = new Date(event.occurredAt);
  const traits = traitsOf(call);
  const traitsAsOf = { ...before.traitsAsOf };
  const pick = (field: string, current: string | null, incoming: unknown): string | null => {
    const value = text(incoming);
    if (value === null) return current;
    // Rows from before per-trait times fall back to the contact's time.
    const setAt = traitsAsOf[field] ?? (current === null ? null : before.asOf.toISOString());
    if (current !== null && setAt !== null && Date.parse(setAt) > at.getTime()) return current;
    traitsAsOf[field] = at.toISOString();
    return value;
  };
  const normalized = call.normalized?.traits;
  const birthdayRaw = normalized?.birthday ?? text(Reflect.get(traits, 'birthday'));
  const birthday = birthdayRaw !== null && birthdayRaw !== undefined && monthDay(birthdayRaw) !== null ? birthdayRaw : null;
  const next: StoredContact = {
    ...before,
    email: pick('email', before.email, traits.email),
    firstName: pick('firstName', before.firstName, traits.first_name ?? traits.firstName),
    name: pick('name', before.name, traits.name),
    locale: pick('locale', before.locale, normalized?.locale ?? traits.locale ?? call.context?.locale),
    timeZone: pick('timeZone', before.timeZone, normalized?.timezone ?? traits.timezone ?? call.context?.timezone),
    birthday: pick('birthday', before.birthday, birthday),
    asOf: at.getTime() > before.asOf.getTime() ? at : before.asOf,
  };
  next.traitsAsOf = traitsAsOf;
  if (call.type !== 'track') return next;
  const zone = zoneFor(next.timeZone, storeTimeZone);
  const props = call.properties;
  if (movesOrderValue(call.event)) next.orders = applyOrderEvent(before.orders, { eventId: event.id, event: call.event, at: at.toISOString(), properties: props, normalized: call.normalized });
  switch (call.event) {
    case 'Order Completed': {
      const order = orderData(props, call.normalized, null, at);
      const day = localDate(at, zone);
      next.firstOrderDate = before.firstOrderDate === null || day < before.firstOrderDate ? day : before.firstOrderDate;
      const lastPlaced = before.lastOrder?.placedAt;
      if (order !== null && (lastPlaced === undefined || lastPlaced <= at.toISOString())) {
        next.lastOrder = order;
        next.currency = order.currency ?? before.currency;
      }
      break;
    }
    case 'Signed Up': {
      const day = localDate(at, zone);
      next.signupDate = before.signupDate === null || day < before.signupDate ? day : before.signupDate;
      break;
    }
    default:
      break;
  }
  return next;
}

/**
 * The contact after a record from consent's owner. Records carry a per-customer sequence: one
 * older than what the contact holds (a redelivery, or records arriving out of order) changes
 * nothing, so the contact always ends with the owner's latest state.
 */
export function contactAfterConsent(before: StoredContact, change: ConsentChanged): StoredContact {
  const { payload } = change;
  if (payload.sequence <= before.consentSequence) return before;
  const consentAt = new Date(payload.consentAt);
  // A customer who subscribes again or saves their preferences after the re-permission mail
  // answered it: the sunset is lifted.
  const answered = before.sunsetAt !== null && liftingSources.includes(payload.source) && (before.rePermissionSentAt === null || consentAt.getTime() >= before.rePermissionSentAt.getTime());
  return {
    ...before,
    unsubscribed: !payload.marketingAllowed,
    consentState: payload.state,
    consentSequence: payload.sequence,
    subscriptionAsOf: consentAt,
    // Records from before the preference center carry none: the choices held stay.
    topicsOptedOut: payload.preferences?.topicsOptedOut ?? before.topicsOptedOut,
    frequency: payload.preferences?.frequency ?? before.frequency,
    sunsetAt: answered ? null : before.sunsetAt,
  };
}

/** Consent records made by the customer's own choice to hear from the store. */
const liftingSources: readonly ConsentSource[] = ['email-subscribed-event', 'preference-center', 'double-opt-in'];

/**
 * The contact after an open or click at `at`: the latest engagement, and the sunset lifted when it
 * came after the re-permission mail. Opens arriving twice or out of order change nothing more.
 */
export function contactAfterEngagement(before: StoredContact, at: Date): StoredContact {
  const latest = before.lastEngagedAt === null || at.getTime() > before.lastEngagedAt.getTime() ? at : before.lastEngagedAt;
  const lifted = before.sunsetAt !== null && (before.rePermissionSentAt === null || at.getTime() >= before.rePermissionSentAt.getTime());
  if (latest === before.lastEngagedAt && !lifted) return before;
  return { ...before, lastEngagedAt: latest, sunsetAt: lifted ? null : before.sunsetAt };
}
