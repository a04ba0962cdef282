import { z } from 'zod';
import {
  applyOrderEvent,
  emptyLedger,
  mergeLedgers,
  moneyFromMajor,
  netOrders,
  OrderLedger,
  ConsentSource,
  ConsentState,
  Stage,
  toMajorUnits,
  traitsOf,
  voidedOrderIds,
  type ConsentChanged,
  type LifecycleEvent,
  type MessageEvent,
} from '@lifecycle/contracts';

const Iso = z.string();

/** What the classifier knows of one customer, built only from lifecycle events and fired timers. */
export const Profile = z.object({
  customerId: z.string(),
  stage: Stage.nullable(),
  email: z.string().nullable(),
  firstName: z.string().nullable(),
  locale: z.string().nullable().default(null),
  timeZone: z.string().nullable().default(null),
  /** `YYYY-MM-DD` as the customer gave it. */
  birthday: z.string().nullable().default(null),
  signedUpAt: Iso.nullable().default(null),
  /**
   * Marketing email consent as its owner (messaging) last published it on `consent.changes`:
   * the state, when the customer gave it (`changedAt`), what made the change, and the record's
   * sequence (older records are ignored). Null until the owner has said anything.
   */
  consent: z
    .object({ state: ConsentState, marketingAllowed: z.boolean(), changedAt: Iso, source: ConsentSource, sequence: z.number().int() })
    .nullable()
    .default(null),
  /** `consent.marketingAllowed` and `consent.changedAt`, kept for readers of the earlier fields. */
  subscribed: z.boolean().nullable().default(null),
  subscribedAt: Iso.nullable().default(null),
  /** Email engagement, from the message events messaging publishes. */
  lastOpenAt: Iso.nullable().default(null),
  lastClickAt: Iso.nullable().default(null),
  /** Event time of the traits above, so an older event never overwrites a newer value. */
  traitsAt: Iso.nullable(),
  firstSeenAt: Iso,
  lastEventAt: Iso,
  /** The latest moment the classifier has seen (events and fired timers): its "now". */
  clockAt: Iso,
  /** Product views, cart adds, wishlist adds and checkouts: signs of intent before an order. */
  intentSignals: z.number().int(),
  /**
   * Completed orders that count, by event time: the order ledger's net orders (the shared
   * order-value rule). `total` is the value net of partial refunds in major units (what the
   * figures and RFM sum), `amountMinor` the same in minor units of `currency`.
   */
  orders: z.array(z.object({ orderId: z.string(), at: Iso, total: z.number().default(0), currency: z.string().default('USD'), amountMinor: z.number().int().optional() })),
  /** Orders refunded in full or cancelled, kept so an order that arrives after its refund stays out. */
  voidedOrderIds: z.array(z.string()),
  /** Orders, refunds and cancellations as they arrived; `orders` and `voidedOrderIds` follow from it. Absent on profiles from before it. */
  ledger: OrderLedger.optional(),
  npsScore: z.number().int().nullable(),
  npsAt: Iso.nullable(),
  reviewCount: z.number().int(),
  referrals: z.number().int(),
  /** NPS answers, reviews, referrals and shares with their times: what advocacy is judged on. */
  signals: z.array(z.object({ kind: z.enum(['nps', 'review', 'referral', 'share']), value: z.number().nullable(), at: Iso })),
  /** When the classifier has asked the scheduler to wake it for this customer. */
  nextCheckAt: Iso.nullable(),
  /**
   * The last RECENT_EVENTS_KEPT events folded in, oldest first by event time: what the console's
   * timeline shows. Profiles from before it have none.
   */
  recentEvents: z.array(z.object({ eventId: z.string(), type: z.string(), occurredAt: Iso })).default([]),
});
export type Profile = z.infer<typeof Profile>;

const intentEvents = new Set(['Product Viewed', 'Product Added', 'Product Added to Wishlist', 'Cart Viewed', 'Checkout Started']);

export function emptyProfile(customerId: string, at: string): Profile {
  return {
    customerId,
    stage: null,
    email: null,
    firstName: null,
    locale: null,
    timeZone: null,
    birthday: null,
    signedUpAt: null,
    consent: null,
    subscribed: null,
    subscribedAt: null,
    lastOpenAt: null,
    lastClickAt: null,
    traitsAt: null,
    firstSeenAt: at,
    lastEventAt: at,
    clockAt: at,
    intentSignals: 0,
    orders: [],
    voidedOrderIds: [],
    npsScore: null,
    npsAt: null,
    reviewCount: 0,
    referrals: 0,
    signals: [],
    nextCheckAt: null,
    recentEvents: [],
  };
}

/** How many events a profile keeps in `recentEvents`. */
export const RECENT_EVENTS_KEPT = 50;

type RecentEvent = Profile['recentEvents'][number];

/** Events by event time (then id), each once, the newest RECENT_EVENTS_KEPT: the same list whatever order they came in. */
function keepRecent(events: RecentEvent[]): RecentEvent[] {
  const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
  unique.sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  return unique.slice(-RECENT_EVENTS_KEPT);
}

/** `keepRecent` with one more event; the usual case (the newest, not seen yet) without sorting, as it runs for every event. */
function withRecent(events: RecentEvent[], event: RecentEvent): RecentEvent[] {
  const last = events.at(-1);
  if (last !== undefined && last.occurredAt > event.occurredAt) return keepRecent([...events, event]);
  if (events.some((e) => e.eventId === event.eventId)) return events;
  return events.length < RECENT_EVENTS_KEPT ? [...events, event] : [...events.slice(events.length - RECENT_EVENTS_KEPT + 1), event];
}

const earlier = (a: string, b: string): string => (b < a ? b : a);
const later = (a: string, b: string): string => (b > a ? b : a);

function stringProp(properties: Record<string, unknown>, name: string): string | null {
  const value = properties[name];
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;
}

function isoProp(properties: Record<string, unknown>, name: string): string | null {
  const value = stringProp(properties, name);
  return value !== null && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : null;
}

function numberProp(properties: Record<string, unknown>, name: string): number | null {
  const value = properties[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * Folds one event into the profile. Times are event times, not arrival times, and the fold is
 * order-independent: the same events in any order give the same profile.
 */
export function applyEvent(profile: Profile, event: LifecycleEvent): Profile {
  const { call } = event.payload;
  const at = event.occurredAt;
  const traits = traitsOf(call);
  const newerTraits = profile.traitsAt === null || at >= profile.traitsAt;
  const pick = (incoming: string | undefined, current: string | null): string | null =>
    incoming === undefined ? current : newerTraits || current === null ? incoming : current;
  const incoming = {
    email: traits.email,
    firstName: traits.first_name ?? traits.firstName,
    locale: traits.locale ?? call.context?.locale,
    timeZone: traits.timezone ?? call.context?.timezone,
    birthday: stringProp(traits, 'birthday') ?? undefined,
    signedUpAt: isoProp(traits, 'created_at') ?? isoProp(traits, 'createdAt') ?? undefined,
  };
  const touchedTraits = Object.values(incoming).some((v) => v !== undefined);
  const next: Profile = {
    ...profile,
    email: pick(incoming.email, profile.email),
    firstName: pick(incoming.firstName, profile.firstName),
    locale: pick(incoming.locale, profile.locale),
    timeZone: pick(incoming.timeZone, profile.timeZone),
    birthday: pick(incoming.birthday, profile.birthday),
    signedUpAt: pick(incoming.signedUpAt, profile.signedUpAt),
    traitsAt: touchedTraits ? (profile.traitsAt === null ? at : later(profile.traitsAt, at)) : profile.traitsAt,
    firstSeenAt: earlier(profile.firstSeenAt, at),
    lastEventAt: later(profile.lastEventAt, at),
    clockAt: later(profile.clockAt, at),
    recentEvents: withRecent(profile.recentEvents, { eventId: event.id, type: call.type === 'track' ? call.event : call.type, occurredAt: at }),
  };
  if (call.type !== 'track') return next;
  const props = call.properties;
  switch (call.event) {
    case 'Order Completed':
    case 'Order Refunded':
    case 'Order Cancelled': {
      // A refund or cancellation without an order id names no order: nothing to take out.
      if (call.event !== 'Order Completed' && stringProp(props, 'order_id') === null) return next;
      const ledger = applyOrderEvent(ledgerOf(next), { eventId: event.id, event: call.event, at, properties: props, normalized: call.normalized });
      return withLedger(next, ledger);
    }
    case 'NPS Survey Answered': {
      const score = numberProp(props, 'score');
      if (score === null) return next;
      const latest = next.npsAt === null || at >= next.npsAt;
      return { ...withSignal(next, 'nps', score, at), npsScore: latest ? score : next.npsScore, npsAt: latest ? at : next.npsAt };
    }
    case 'Product Reviewed':
      return { ...withSignal(next, 'review', numberProp(props, 'rating'), at), reviewCount: next.reviewCount + 1 };
    case 'Referral Completed':
      return { ...withSignal(next, 'referral', null, at), referrals: next.referrals + 1 };
    case 'Product Shared':
      return withSignal(next, 'share', null, at);
    default:
      return intentEvents.has(call.event) ? { ...next, intentSignals: next.intentSignals + 1 } : next;
  }
}

/**
 * The profile's order ledger. A profile from before the ledger has only its counted orders (major
 * units) and voided ids; they become the ledger's orders and cancellations.
 */
export function ledgerOf(profile: Profile): OrderLedger {
  if (profile.ledger !== undefined) return profile.ledger;
  const orders = profile.orders.map((o) => ({ orderId: o.orderId, at: o.at, eventId: o.orderId, value: moneyFromMajor(o.total, o.currency) ?? { amountMinor: 0, currency: o.currency } }));
  return { ...emptyLedger(), orders, cancelledOrderIds: [...profile.voidedOrderIds] };
}

/** The profile with this ledger and the orders that count by it; no ledger at all while it is empty, so replays give the same profile. */
function withLedger(profile: Profile, ledger: OrderLedger): Profile {
  const orders = netOrders(ledger).map((o) => ({ orderId: o.orderId, at: o.at, total: toMajorUnits(o.value), currency: o.value.currency, amountMinor: o.value.amountMinor }));
  const { ledger: _old, ...rest } = profile;
  const empty = ledger.orders.length === 0 && ledger.refunds.length === 0 && ledger.cancelledOrderIds.length === 0;
  return { ...rest, ...(empty ? {} : { ledger }), orders, voidedOrderIds: voidedOrderIds(ledger) };
}

type Signal = Profile['signals'][number];

function withSignal(profile: Profile, kind: Signal['kind'], value: number | null, at: string): Profile {
  const signals = [...profile.signals, { kind, value, at }].sort(
    (a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind.localeCompare(b.kind) || (a.value ?? -1) - (b.value ?? -1)),
  );
  return { ...profile, signals };
}

/**
 * Folds what became of a message into the profile: opens and clicks are engagement, and move the
 * profile's clock as anything the customer does. The other statuses (sent, delivered, bounced …)
 * are what happened to the mail, not what the customer did: they leave the profile as it is, so
 * when messaging reports them does not change when a stage is decided. Consent is not taken from
 * here (an unsubscribe or spam report reaches messaging first, and messaging, its owner,
 * publishes the result on `consent.changes`). Order-independent like `applyEvent`.
 */
export function applyMessageEvent(profile: Profile, event: MessageEvent): Profile {
  const at = event.payload.providerTimestamp ?? event.occurredAt;
  switch (event.payload.status) {
    case 'opened':
      return { ...profile, clockAt: later(profile.clockAt, at), lastOpenAt: profile.lastOpenAt === null ? at : later(profile.lastOpenAt, at) };
    case 'clicked':
      return { ...profile, clockAt: later(profile.clockAt, at), lastClickAt: profile.lastClickAt === null ? at : later(profile.lastClickAt, at) };
    default:
      return profile;
  }
}

/** Takes a record from consent's owner, unless the profile already holds a later one (by sequence). */
export function applyConsent(profile: Profile, change: ConsentChanged): Profile {
  const { payload } = change;
  if (profile.consent !== null && payload.sequence <= profile.consent.sequence) return profile;
  return {
    ...profile,
    consent: { state: payload.state, marketingAllowed: payload.marketingAllowed, changedAt: payload.consentAt, source: payload.source, sequence: payload.sequence },
    subscribed: payload.marketingAllowed,
    subscribedAt: payload.consentAt,
  };
}

/** Moves the profile's clock forward to a fired timer's time. */
export function advanceClock(profile: Profile, at: string): Profile {
  return { ...profile, clockAt: later(profile.clockAt, at) };
}

const newest = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : later(a, b));

/**
 * The profile of a customer with the activity of an anonymous id merged in (once ingestion has
 * linked the two): orders, signals and intent add up; a trait comes from whichever side is newer.
 */
export function mergeProfiles(customer: Profile, anonymous: Profile): Profile {
  const { ledger, orders, voidedOrderIds: voided } = withLedger(customer, mergeLedgers(ledgerOf(customer), ledgerOf(anonymous)));
  const ledgerField = ledger === undefined ? {} : { ledger };
  const signals = [...customer.signals, ...anonymous.signals].sort(
    (a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind.localeCompare(b.kind) || (a.value ?? -1) - (b.value ?? -1)),
  );
  const anonymousTraitsNewer = anonymous.traitsAt !== null && (customer.traitsAt === null || anonymous.traitsAt > customer.traitsAt);
  const [first, second] = anonymousTraitsNewer ? [anonymous, customer] : [customer, anonymous];
  const npsFromAnonymous = anonymous.npsAt !== null && (customer.npsAt === null || anonymous.npsAt > customer.npsAt);
  // Consent records are per customer id: the customer's own, if any, is the owner's word for them.
  const consentFromAnonymous = customer.consent === null && anonymous.consent !== null;
  return {
    ...customer,
    email: first.email ?? second.email,
    firstName: first.firstName ?? second.firstName,
    locale: first.locale ?? second.locale,
    timeZone: first.timeZone ?? second.timeZone,
    birthday: first.birthday ?? second.birthday,
    signedUpAt: first.signedUpAt ?? second.signedUpAt,
    traitsAt: newest(customer.traitsAt, anonymous.traitsAt),
    firstSeenAt: earlier(customer.firstSeenAt, anonymous.firstSeenAt),
    lastEventAt: later(customer.lastEventAt, anonymous.lastEventAt),
    clockAt: later(customer.clockAt, anonymous.clockAt),
    intentSignals: customer.intentSignals + anonymous.intentSignals,
    ...ledgerField,
    orders,
    voidedOrderIds: voided,
    npsScore: npsFromAnonymous ? anonymous.npsScore : customer.npsScore,
    npsAt: newest(customer.npsAt, anonymous.npsAt),
    reviewCount: customer.reviewCount + anonymous.reviewCount,
    referrals: customer.referrals + anonymous.referrals,
    signals,
    consent: consentFromAnonymous ? anonymous.consent : customer.consent,
    subscribed: consentFromAnonymous ? anonymous.subscribed : customer.subscribed,
    subscribedAt: consentFromAnonymous ? anonymous.subscribedAt : customer.subscribedAt,
    lastOpenAt: newest(customer.lastOpenAt, anonymous.lastOpenAt),
    lastClickAt: newest(customer.lastClickAt, anonymous.lastClickAt),
    recentEvents: keepRecent([...customer.recentEvents, ...anonymous.recentEvents]),
  };
}
