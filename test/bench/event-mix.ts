import { orderCompletedCall } from '../chaos/order-stream.ts';

/**
 * The bench's traffic: which kind of Segment call the n-th event is and whose it is, as pure
 * functions of n, so a run's load is the same every time and the shares hold over any stretch.
 */

export const eventKinds = ['orders', 'views', 'carts', 'identifies'] as const;
export type EventKind = (typeof eventKinds)[number];

/** The share of each kind, summing to 1. */
export type Mix = Record<EventKind, number>;

export const defaultMix = 'orders=10,views=55,carts=20,identifies=15';

/** `orders=10,views=55,carts=20,identifies=15`: weights (percentages or any scale) of the kinds; a kind left out gets none. */
export function parseMix(text: string): Mix {
  const weights: Mix = { orders: 0, views: 0, carts: 0, identifies: 0 };
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(part);
    const kind = eventKinds.find((k) => k === match?.[1]);
    if (match === null || kind === undefined) throw new Error(`--mix: "${part}" is not <kind>=<weight> with a kind of ${eventKinds.join(', ')}`);
    weights[kind] = Number(match[2]);
  }
  const total = eventKinds.reduce((sum, k) => sum + weights[k], 0);
  if (total <= 0) throw new Error('--mix: the weights add up to 0; give at least one kind a weight');
  return { orders: weights.orders / total, views: weights.views / total, carts: weights.carts / total, identifies: weights.identifies / total };
}

const GOLDEN = (Math.sqrt(5) - 1) / 2;

/**
 * The kind of the n-th event. The fractional parts of n·φ spread evenly over [0, 1) (a
 * low-discrepancy sequence), so among any N consecutive events each kind's count is within a
 * few of its share times N, without a random generator to seed.
 */
export function kindAt(index: number, mix: Mix): EventKind {
  const position = (index * GOLDEN) % 1;
  let upTo = 0;
  for (const kind of eventKinds) {
    upTo += mix[kind];
    if (position < upTo) return kind;
  }
  return eventKinds.findLast((k) => mix[k] > 0) ?? 'views';
}

/** Whose the n-th event is: an integer hash of n, spread evenly over the customers. */
export function customerAt(index: number, customers: number): number {
  // lowbias32 (Chris Wellons' integer hash): every bit of n moves about half of the result's.
  let x = index >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> 0) % customers;
}

export interface MixedEvent {
  kind: EventKind;
  customerId: string;
  messageId: string;
  /** Set for an order: the id its thank-you is matched by. */
  orderId: string | undefined;
  call: Record<string, unknown>;
}

/** The n-th event of a run as a Segment call, stamped `at` (when the store made it). */
export function mixedEvent(runId: string, index: number, mix: Mix, customers: number, at: Date): MixedEvent {
  const kind = kindAt(index, mix);
  const customer = customerAt(index, customers);
  const customerId = `c${customer}`;
  const messageId = `${runId}-${index}`;
  const timestamp = at.toISOString();
  const product = { product_id: `p-${index % 500}`, sku: `SKU-${index % 500}`, name: 'Burr Grinder', price: 65, currency: 'USD' };
  switch (kind) {
    case 'orders': {
      const orderId = `E2E-${index}`;
      return { kind, customerId, messageId, orderId, call: orderCompletedCall({ customerId, customer, orderId, messageId, index, at }) };
    }
    case 'views':
      return { kind, customerId, messageId, orderId: undefined, call: { type: 'track', messageId, timestamp, userId: customerId, event: 'Product Viewed', properties: product } };
    case 'carts':
      return { kind, customerId, messageId, orderId: undefined, call: { type: 'track', messageId, timestamp, userId: customerId, event: 'Product Added', properties: { ...product, cart_id: `cart-${customer}`, quantity: 1 } } };
    case 'identifies':
      return { kind, customerId, messageId, orderId: undefined, call: { type: 'identify', messageId, timestamp, userId: customerId, traits: { email: `shopper.c${customer}@example.com`, first_name: 'Pat', last_name: `Customer ${customer}` } } };
  }
}
