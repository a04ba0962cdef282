import { demoCatalog, demoProduct, type DemoCurrency, type DemoProduct } from './store-catalog.ts';
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
  | {
      at: Date;
      customerId: string;
      type: 'track';
      event: string;
      properties: Record<string, unknown>;
      /**
       * An order placed with the coupon of the mail with this dedupe key: the code is the one
       * messaging put in that mail, known only once it was sent, so the demo adds it as `coupon`
       * when it sends the call (`withCoupon`); without a known code the order goes without.
       */
      couponOf?: string;
    };

/** Who the store's own calls (`Product Updated`: stock and prices) come from: the shop, not a customer. */
export const STORE_USER_ID = 'demo-store';

/** `call` as it goes to ingestion: an order placed with a mail's coupon carries the code, when `codeOf` knows it. */
export function withCoupon(call: DemoCall, codeOf: (dedupeKey: string) => string | undefined): DemoCall {
  if (call.type !== 'track' || call.couponOf === undefined) return call;
  const code = codeOf(call.couponOf);
  return code === undefined ? call : { ...call, properties: { ...call.properties, coupon: code } };
}

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
  /** A reason to come back soon (a mail they liked), by day. */
  returnOnDay: number | null;
  unsubscribed: boolean;
  /** Durable goods they own (no second grinder). */
  owned: Set<string>;
  /** Consumables running out, by sku: the day they come to buy each again. */
  restock: Map<string, number>;
  /** Products a mail showed them that they mean to look at on their next visit. */
  interests: DemoProduct[];
  /**
   * A mail's coupon they mean to use, from `fromDay` (two days after the mail: by then the demo
   * has read the code messaging sent) until the day it lapses for them.
   */
  coupon: { dedupeKey: string; fromDay: number; untilDay: number } | null;
  /**
   * The last day a marketing mail they opened still draws them to the store: for a few days
   * they visit and cart a little more often, so a mailed customer orders a little more than a
   * held-out one (the lift the holdouts measure).
   */
  nudgedUntilDay: number | null;
}

export const newCustomerState = (): CustomerState => ({
  arrived: false,
  engaged: true,
  orders: 0,
  lastOrderDay: null,
  cart: [],
  deliveries: [],
  reviews: [],
  returnOnDay: null,
  unsubscribed: false,
  owned: new Set(),
  restock: new Map(),
  interests: [],
  coupon: null,
  nudgedUntilDay: null,
});

/** How much more often a customer visits while a marketing mail they opened draws them (`nudgedUntilDay`). */
export const MAIL_VISIT_NUDGE = 1.6;
/** How long a marketing mail they opened draws them, in days: the shipped campaigns' goal windows are 3 to 7 days. */
export const MAIL_NUDGE_DAYS = 5;

/**
 * What the shop itself changes as the year goes: prices (a drop now and then) and stock (a
 * product sells out and comes back). Customers pay the price of the day and cannot cart what is
 * out of stock.
 */
export interface ShopState {
  prices: Map<string, Record<DemoCurrency, number>>;
  /** Skus out of stock, with the day each comes back. */
  soldOut: Map<string, number>;
}

export const newShopState = (): ShopState => ({ prices: new Map(demoCatalog.map((p) => [p.sku, { ...p.price }])), soldOut: new Map() });

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

/** The catalog's fields of a product, as a Segment product carries them. */
const productFields = (p: DemoProduct) => ({ product_id: p.productId, sku: p.sku, name: p.name, category: p.category, url: p.url, image_url: p.imageUrl });

/** A product the customer looks at: mostly their favourite category, consumables more often when they have ordered; durable goods they own less often. */
function browse(customer: DemoCustomer, state: CustomerState, r: Random): DemoProduct {
  const pool = r.chance(0.6) ? demoCatalog.filter((p) => p.category === customer.favourite) : demoCatalog;
  const consumables = pool.filter((p) => p.consumable);
  const pick = state.orders > 0 && consumables.length > 0 && r.chance(0.5) ? r.pick(consumables) : r.pick(pool);
  return state.owned.has(pick.sku) ? r.pick(pool) : pick;
}

/** A product bought with `product` (a teapot with tea), when the customer takes one: not one they own or have in the cart. */
function companion(product: DemoProduct, state: CustomerState, shop: ShopState, r: Random): DemoProduct | null {
  const candidates = product.goesWith.map(demoProduct).filter((p) => !state.owned.has(p.sku) && !state.cart.includes(p) && !shop.soldOut.has(p.sku));
  if (candidates.length === 0 || !r.chance(0.55)) return null;
  return r.weighted(candidates, candidates.map((_, i) => (i === 0 ? 3 : 1)));
}

/**
 * One customer's calls on simulated day `day` (0-based, from the local date `start`), updating
 * `state`. Calls come in time order; each at a local hour that fits the customer.
 */
export function simulateCustomerDay(customer: DemoCustomer, state: CustomerState, day: number, start: string, r: Random, shop: ShopState = newShopState()): DemoCall[] {
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
  const priceOf = (p: DemoProduct): number => (shop.prices.get(p.sku) ?? p.price)[customer.currency];
  const line = (p: DemoProduct) => ({ ...productFields(p), price: priceOf(p), quantity: 1 });
  const total = (products: readonly DemoProduct[]): number => Math.round(products.reduce((sum, p) => sum + priceOf(p), 0) * 100) / 100;
  const cart = (product: DemoProduct): void => {
    if (shop.soldOut.has(product.sku) || state.cart.includes(product)) return;
    state.cart.push(product);
    track('Product Added', { ...line(product), currency: customer.currency, cart_id: `cart-${customerId}` });
  };

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
  // Consumables that ran out: the customer comes for them, at each product's own rhythm.
  const runOut = [...state.restock].filter(([, due]) => due <= day).map(([sku]) => demoProduct(sku));
  if (state.coupon !== null && state.coupon.untilDay < day) state.coupon = null;
  const nudged = state.nudgedUntilDay !== null && state.nudgedUntilDay >= day;
  const coming = runOut.length > 0 || state.returnOnDay === day || r.chance(Math.min(1, (customer.visitsPerWeek / 7) * (nudged ? MAIL_VISIT_NUDGE : 1))) || day === customer.arrivesOnDay;
  if (state.returnOnDay !== null && state.returnOnDay <= day) state.returnOnDay = null;
  if (coming) {
    const viewed = [...runOut, ...state.interests.splice(0), ...Array.from({ length: r.int(1, 3) }, () => browse(customer, state, r))];
    for (const product of viewed) track('Product Viewed', { ...line(product), currency: customer.currency });
    for (const product of runOut) {
      state.restock.delete(product.sku);
      // Mostly bought again; otherwise asked again in a few days (sold out, or not yet).
      if (r.chance(0.85) && !shop.soldOut.has(product.sku)) cart(product);
      else if (r.chance(0.6)) state.restock.set(product.sku, day + r.int(3, 8));
    }
    const coupon = state.coupon !== null && state.coupon.fromDay <= day ? state.coupon : null;
    const withCode = coupon !== null;
    if (r.chance(withCode ? 0.8 : nudged ? 0.55 : 0.35)) {
      const product = r.pick(viewed);
      cart(product);
      const extra = companion(product, state, shop, r);
      if (extra !== null) cart(extra);
    }
    const restocking = runOut.some((p) => state.cart.includes(p));
    // A customer drawn by a mail they read came to buy: they go to the checkout (no draw skipped: the streams stay).
    if (state.cart.length > 0 && (restocking || withCode || r.chance(nudged ? 1 : 0.5))) {
      const checkoutId = `chk-${customerId}-${day}`;
      track('Checkout Started', { checkout_id: checkoutId, total: total(state.cart), currency: customer.currency, products: state.cart.map(line) });
      if (r.chance(restocking ? 0.9 : withCode ? Math.max(0.75, customer.buyRate) : customer.buyRate)) {
        const orderId = `ord-${customerId}-${day}`;
        const products = state.cart;
        state.cart = [];
        const order: Record<string, unknown> = { order_id: orderId, checkout_id: checkoutId, total: total(products), currency: customer.currency, products: products.map(line) };
        if (coupon !== null) {
          calls.push({ at: at(), customerId, type: 'track', event: 'Order Completed', properties: order, couponOf: coupon.dedupeKey });
          state.coupon = null;
        } else track('Order Completed', order);
        state.orders++;
        state.lastOrderDay = day;
        state.deliveries.push({ orderId, day: day + r.int(2, 5), products });
        for (const p of products) {
          if (p.reorderDays === null) state.owned.add(p.sku);
          // A bag lasts about as long as it does for everyone, give or take a few days.
          else state.restock.set(p.sku, day + Math.max(3, Math.round(p.reorderDays * (0.85 + r.next() * 0.3))));
        }
        if (state.orders >= 2 && r.chance(0.03)) track('Referral Completed', { referrer_id: customerId, referral_code: `REF-${customerId}-${day}` });
      }
    }
  }
  // Once a week without a recent order, some customers go quiet for good.
  const quietFor = day - (state.lastOrderDay ?? customer.arrivesOnDay);
  if ((day - customer.arrivesOnDay) % 7 === 6 && quietFor > 28 && r.chance(customer.churnPerWeek)) state.engaged = false;
  return calls.sort((a, b) => a.at.getTime() - b.at.getTime());
}

const currencies: readonly DemoCurrency[] = ['USD', 'EUR', 'JPY'];

/** A price cut by `percent`, kept to the currency's usual endings (.90 in EUR, tens of yen). */
function cut(price: number, currency: DemoCurrency, percent: number): number {
  const raw = price * (1 - percent / 100);
  if (currency === 'JPY') return Math.max(10, Math.floor(raw / 10) * 10);
  if (currency === 'EUR') return Math.max(0.9, Math.floor(raw) - 0.1);
  return Math.max(1, Math.floor(raw));
}

/**
 * The shop's own calls on day `day`, updating `shop`: on the first day the whole catalog (stock
 * and a price per currency, as a shop's product feed would send it); then, a few times a month,
 * a product selling out (`stock: 0`) and coming back days later, and a price dropping by 10–30%.
 * At noon UTC, from `STORE_USER_ID`.
 */
export function simulateShopDay(shop: ShopState, day: number, start: string, r: Random): DemoCall[] {
  const calls: DemoCall[] = [];
  const base = Date.parse(`${dayDate(start, day)}T12:00:00.000Z`);
  let minute = 0;
  const update = (product: DemoProduct, properties: Record<string, unknown>): void => {
    calls.push({ at: new Date(base + minute++ * 60_000), customerId: STORE_USER_ID, type: 'track', event: 'Product Updated', properties: { ...productFields(product), ...properties } });
  };
  const priced = (product: DemoProduct): void => {
    const prices = shop.prices.get(product.sku) ?? product.price;
    for (const currency of currencies) update(product, { price: prices[currency], currency });
  };
  if (day === 0) {
    for (const product of demoCatalog) {
      update(product, { stock: r.int(20, 200), in_stock: true });
      priced(product);
    }
    return calls;
  }
  for (const [sku, back] of [...shop.soldOut]) {
    if (back > day) continue;
    shop.soldOut.delete(sku);
    update(demoProduct(sku), { stock: r.int(20, 120), in_stock: true });
  }
  // About three sell-outs and one or two price drops a month.
  if (r.chance(3 / 30)) {
    const product = r.pick(demoCatalog.filter((p) => !shop.soldOut.has(p.sku) && p.sku !== 'GIFT-CARD-50'));
    shop.soldOut.set(product.sku, day + r.int(5, 21));
    update(product, { stock: 0, in_stock: false });
  }
  if (r.chance(1.5 / 30)) {
    const product = r.pick(demoCatalog.filter((p) => p.sku !== 'GIFT-CARD-50'));
    const percent = r.int(10, 30);
    const before = shop.prices.get(product.sku) ?? product.price;
    shop.prices.set(product.sku, { USD: cut(before.USD, 'USD', percent), EUR: Math.round(cut(before.EUR, 'EUR', percent) * 100) / 100, JPY: cut(before.JPY, 'JPY', percent) });
    priced(product);
  }
  return calls;
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
  const shop = newShopState();
  const shopRandom = random.fork('shop');
  let played = -1;
  return {
    customers,
    playDay: (day) => {
      played = Math.max(played, day);
      const calls: DemoCall[] = simulateShopDay(shop, day, start, shopRandom);
      for (const customer of customers) {
        const state = states.get(customer.customerId);
        const r = behaviour.get(customer.customerId);
        if (state !== undefined && r !== undefined) calls.push(...simulateCustomerDay(customer, state, day, start, r, shop));
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
  /** The request's dedupe key: which mail's coupon an order uses. */
  dedupeKey?: string;
  /** The mail carries a coupon code (the campaign has an offer). */
  hasOffer?: boolean;
  /** Skus of the products the mail shows (recommendations, the product back in stock or cheaper). */
  products?: readonly string[];
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
  // Read marketing mail draws a customer to the store a little for a few days (no draw: the streams stay as they were).
  if (mail.category === 'marketing') state.nudgedUntilDay = Math.max(state.nudgedUntilDay ?? -1, day + MAIL_NUDGE_DAYS);
  const calls: DemoCall[] = [];
  // A code of their own is a reason to order: some readers come back within the week to use it.
  if (mail.hasOffer === true && mail.dedupeKey !== undefined && r.chance(clicked ? 0.45 : 0.15)) {
    state.engaged = true;
    state.coupon = { dedupeKey: mail.dedupeKey, fromDay: day + 2, untilDay: day + 14 };
    state.returnOnDay = day + r.int(2, 6);
  }
  // A product the mail showed them, clicked, gets a look on their next visit (and a visit soon).
  const shown = (mail.products ?? []).flatMap((sku) => demoCatalog.filter((p) => p.sku === sku || p.productId === sku));
  if (clicked && shown.length > 0) {
    state.interests = [r.pick(shown)];
    if (state.returnOnDay === null && r.chance(0.5)) state.returnOnDay = day + r.int(2, 4);
  }
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
