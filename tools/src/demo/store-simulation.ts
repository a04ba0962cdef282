import { demoCatalog, type DemoProduct } from './store-catalog.ts';
import type { DemoCustomer } from './store-customers.ts';
import type { Random } from './seeded-random.ts';

/**
 * What the demo store's customers do on their own, one simulated day at a time: arrive and
 * identify, browse, cart, check out, order, receive, review, refer, go quiet. Pure: the same
 * customers, state and random streams give the same calls. (How they answer the mail the
 * system sends them is `reactToMail`.)
 */

/** A Segment call the demo sends with the real client, at a simulated instant. */
export type DemoCall =
  | { at: Date; customerId: string; type: 'identify'; traits: Record<string, unknown> }
  | { at: Date; customerId: string; type: 'track'; event: string; properties: Record<string, unknown> };

export interface CustomerState {
  arrived: boolean;
  /** Still shopping; false once gone quiet (a win-back may bring them back). */
  engaged: boolean;
  orders: number;
  lastOrderDay: number | null;
  /** Products in the cart, not ordered yet. */
  cart: DemoProduct[];
  /** Orders on their way, by the day they arrive. */
  deliveries: { orderId: string; day: number; products: DemoProduct[] }[];
  /** Reviews to write, by day. */
  reviews: { product: DemoProduct; day: number }[];
  /** A reason to come back soon (a consumable running out, a mail they liked), by day. */
  returnOnDay: number | null;
  unsubscribed: boolean;
}

export const newCustomerState = (): CustomerState => ({ arrived: false, engaged: true, orders: 0, lastOrderDay: null, cart: [], deliveries: [], reviews: [], returnOnDay: null, unsubscribed: false });

const pad = (n: number): string => String(n).padStart(2, '0');

/** One formatter per zone: building an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `zone` from UTC at `instant`, in ms. */
function offsetMs(instant: Date, zone: string): number {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(zone, format);
  }
  const parts = format.formatToParts(instant);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - (instant.getTime() - instant.getMilliseconds());
}

/** The instant it is `hour`:`minute` on the local date `ymd` in `zone` (across a DST change, one of the two it could be). */
export function localInstant(ymd: string, hour: number, minute: number, zone: string): Date {
  const wall = Date.parse(`${ymd}T${pad(hour)}:${pad(minute)}:00.000Z`);
  const first = wall - offsetMs(new Date(wall), zone);
  return new Date(wall - offsetMs(new Date(first), zone));
}

/** The simulated date `day` days after `start` (YYYY-MM-DD). */
export function dayDate(start: string, day: number): string {
  return new Date(Date.parse(`${start}T00:00:00.000Z`) + day * 86_400_000).toISOString().slice(0, 10);
}

const priceIn = (p: DemoProduct, c: DemoCustomer): number => p.price[c.currency];
const line = (p: DemoProduct, c: DemoCustomer) => ({ product_id: p.productId, sku: p.sku, name: p.name, category: p.category, price: priceIn(p, c), quantity: 1, url: p.url });
const total = (products: readonly DemoProduct[], c: DemoCustomer): number => Math.round(products.reduce((sum, p) => sum + priceIn(p, c), 0) * 100) / 100;

/** A product the customer looks at: mostly their favourite category, consumables more often when they have ordered. */
function browse(customer: DemoCustomer, state: CustomerState, r: Random): DemoProduct {
  const pool = r.chance(0.6) ? demoCatalog.filter((p) => p.category === customer.favourite) : demoCatalog;
  const consumables = pool.filter((p) => p.consumable);
  return state.orders > 0 && consumables.length > 0 && r.chance(0.5) ? r.pick(consumables) : r.pick(pool);
}

/**
 * One customer's calls on simulated day `day` (0-based, from the local date `start`), updating
 * `state`. Calls come in time order; each at a local hour that fits the customer.
 */
export function simulateCustomerDay(customer: DemoCustomer, state: CustomerState, day: number, start: string, r: Random): DemoCall[] {
  const date = dayDate(start, day);
  const calls: DemoCall[] = [];
  // A visit starts at the customer's hour; each step a few minutes after the one before.
  const visit = localInstant(date, customer.shoppingHour, 0, customer.timeZone).getTime();
  let minute = r.int(0, 40);
  const at = (): Date => {
    minute += r.int(1, 6);
    return new Date(visit + minute * 60_000);
  };
  const track = (event: string, properties: Record<string, unknown>, when = at()): void => void calls.push({ at: when, customerId: customer.customerId, type: 'track', event, properties });
  const { customerId } = customer;

  if (day < customer.arrivesOnDay) return calls;
  if (!state.arrived) {
    state.arrived = true;
    calls.push({
      at: at(),
      customerId,
      type: 'identify',
      traits: { email: customer.email, first_name: customer.firstName, birthday: customer.birthday, timezone: customer.timeZone, locale: customer.locale, currency: customer.currency },
    });
  }

  // Deliveries and reviews happen whether or not the customer still shops.
  for (const delivery of state.deliveries.filter((d) => d.day === day)) {
    track('Order Delivered', { order_id: delivery.orderId }, localInstant(date, r.int(10, 16), r.int(0, 59), customer.timeZone));
    for (const product of delivery.products) if (r.chance(0.25)) state.reviews.push({ product, day: day + r.int(3, 10) });
  }
  state.deliveries = state.deliveries.filter((d) => d.day !== day);
  for (const review of state.reviews.filter((v) => v.day === day)) {
    track('Product Reviewed', { product_id: review.product.productId, review_id: `rev-${customerId}-${day}-${review.product.sku}`, rating: r.weighted([2, 3, 4, 5], [1, 2, 4, 5]) });
  }
  state.reviews = state.reviews.filter((v) => v.day !== day);

  if (!state.engaged) return calls;
  const coming = state.returnOnDay === day || r.chance(customer.visitsPerWeek / 7) || day === customer.arrivesOnDay;
  if (state.returnOnDay !== null && state.returnOnDay <= day) state.returnOnDay = null;
  if (coming) {
    const viewed = Array.from({ length: r.int(1, 3) }, () => browse(customer, state, r));
    for (const product of viewed) track('Product Viewed', { ...line(product, customer), currency: customer.currency });
    if (r.chance(0.35)) {
      const product = r.pick(viewed);
      state.cart.push(product);
      track('Product Added', { ...line(product, customer), currency: customer.currency, cart_id: `cart-${customerId}` });
    }
    if (state.cart.length > 0 && r.chance(0.5)) {
      const checkoutId = `chk-${customerId}-${day}`;
      track('Checkout Started', { checkout_id: checkoutId, total: total(state.cart, customer), currency: customer.currency, products: state.cart.map((p) => line(p, customer)) });
      if (r.chance(customer.buyRate)) {
        const orderId = `ord-${customerId}-${day}`;
        const products = state.cart;
        state.cart = [];
        track('Order Completed', { order_id: orderId, checkout_id: checkoutId, total: total(products, customer), currency: customer.currency, products: products.map((p) => line(p, customer)) });
        state.orders++;
        state.lastOrderDay = day;
        state.deliveries.push({ orderId, day: day + r.int(2, 5), products });
        // A consumable runs out in about a month.
        if (products.some((p) => p.consumable)) state.returnOnDay = day + r.int(24, 40);
        if (state.orders >= 2 && r.chance(0.03)) track('Referral Completed', { referrer_id: customerId, referral_code: `REF-${customerId}-${day}` });
      }
    }
  }
  // Once a week without a recent order, some customers go quiet for good.
  const quietFor = day - (state.lastOrderDay ?? customer.arrivesOnDay);
  if ((day - customer.arrivesOnDay) % 7 === 6 && quietFor > 28 && r.chance(customer.churnPerWeek)) state.engaged = false;
  return calls.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** A day of the whole store: every customer's calls, in time order. */
export interface DemoDay {
  day: number;
  date: string;
  calls: DemoCall[];
}

/** The store's customers with their states: days played in order, mail answered as it arrives. */
export interface DemoStore {
  customers: readonly DemoCustomer[];
  /** Every customer's calls on day `day` (played once each, in order), in time order. */
  playDay(day: number): DemoDay;
  /** A customer's answer to a mail sent on day `day`; null for a customer the store does not know. */
  answerMail(mail: DemoMail, day: number): MailReaction | null;
}

/**
 * The store for `customers` from the local date `start`. Each customer has random streams of
 * their own (`behaviour:<id>`, `mail:<id>`), so the same seed gives the same year, and the mail
 * a customer gets changes only what that customer does.
 */
export function demoStore(random: Random, customers: readonly DemoCustomer[], start: string): DemoStore {
  const states = new Map(customers.map((c) => [c.customerId, newCustomerState()]));
  const behaviour = new Map(customers.map((c) => [c.customerId, random.fork(`behaviour:${c.customerId}`)]));
  const mail = new Map(customers.map((c) => [c.customerId, random.fork(`mail:${c.customerId}`)]));
  const byId = new Map(customers.map((c) => [c.customerId, c]));
  let played = -1;
  return {
    customers,
    playDay: (day) => {
      played = Math.max(played, day);
      const calls: DemoCall[] = [];
      for (const customer of customers) {
        const state = states.get(customer.customerId);
        const r = behaviour.get(customer.customerId);
        if (state !== undefined && r !== undefined) calls.push(...simulateCustomerDay(customer, state, day, start, r));
      }
      return { day, date: dayDate(start, day), calls: calls.sort((a, b) => a.at.getTime() - b.at.getTime() || a.customerId.localeCompare(b.customerId)) };
    },
    answerMail: (sent, day) => {
      const customer = byId.get(sent.customerId);
      const state = states.get(sent.customerId);
      const r = mail.get(sent.customerId);
      // Days are played ahead of the mail: what a mail makes a customer do starts on the first day not played yet.
      return customer === undefined || state === undefined || r === undefined ? null : reactToMail(customer, state, sent, Math.max(day, played), r);
    },
  };
}

/** The store's days one after another, with no mail answered: what the demo sends, a day at a time. */
export function* demoDays(random: Random, customers: readonly DemoCustomer[], start: string, days: number): Generator<DemoDay> {
  const store = demoStore(random, customers, start);
  for (let day = 0; day < days; day++) yield store.playDay(day);
}

/** A mail the system sent a demo customer, as the demo sees it arrive at the SendGrid stand-in. */
export interface DemoMail {
  customerId: string;
  campaignId: string;
  category: 'marketing' | 'transactional';
  /** When the mail went out (the simulated clock). */
  sentAt: Date;
}

/** What a customer does with a mail: engagement the demo reports through the signed webhook, and calls. */
export interface MailReaction {
  openedAt: Date | null;
  clickedAt: Date | null;
  /** They used the unsubscribe link. */
  unsubscribedAt: Date | null;
  calls: DemoCall[];
}

const later = (from: Date, r: Random, minMinutes: number, maxMinutes: number): Date => new Date(from.getTime() + r.int(minMinutes, maxMinutes) * 60_000);

/**
 * How a customer answers a mail: opens it (likelier for an order's own mail), clicks some, now and
 * then leaves marketing for good; answers the NPS survey, comes back after a win-back or an
 * abandoned-cart reminder they clicked. Updates `state` (the day `day` is the mail's).
 */
export function reactToMail(customer: DemoCustomer, state: CustomerState, mail: DemoMail, day: number, r: Random): MailReaction {
  const none: MailReaction = { openedAt: null, clickedAt: null, unsubscribedAt: null, calls: [] };
  if (state.unsubscribed && mail.category === 'marketing') return none;
  const openRate = customer.mailAffinity * (mail.category === 'transactional' ? 0.9 : 0.6);
  if (!r.chance(openRate)) return none;
  const openedAt = later(mail.sentAt, r, 5, 600);
  if (mail.category === 'marketing' && r.chance(customer.mailAffinity < 0.3 ? 0.04 : 0.01)) {
    state.unsubscribed = true;
    return { ...none, openedAt, unsubscribedAt: later(openedAt, r, 1, 5) };
  }
  const clicked = r.chance(0.4);
  const clickedAt = clicked ? later(openedAt, r, 1, 10) : null;
  const calls: DemoCall[] = [];
  switch (mail.campaignId) {
    case 'nps-survey': {
      if (!r.chance(0.6)) break;
      // Satisfied repeat buyers promote the store; a single order leaves them lukewarm.
      const base = state.orders >= 2 ? 9 : 8;
      calls.push({ at: later(openedAt, r, 1, 30), customerId: customer.customerId, type: 'track', event: 'NPS Survey Answered', properties: { score: Math.min(10, base + r.int(-2, 1)), survey_id: `nps-${mail.sentAt.toISOString().slice(0, 10)}` } });
      break;
    }
    case 'win-back-at-risk':
    case 'win-back-lapsed':
      if (clicked && r.chance(0.5)) {
        state.engaged = true;
        state.returnOnDay = day + 1;
      }
      break;
    case 'cart-abandonment':
    case 'browse-abandonment':
      if (clicked) state.returnOnDay = day + 1;
      break;
    default:
      break;
  }
  return { openedAt, clickedAt, unsubscribedAt: null, calls };
}
