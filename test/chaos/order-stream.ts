import { setTimeout as sleep } from 'node:timers/promises';
import { segmentClient, type Delivery, type StreamStats } from './segment-client.ts';

/**
 * Orders posted to ingestion's Segment API (`POST /v1/track`) at a steady rate, one call a post,
 * again until accepted (see segment-client.ts).
 */

export type { StreamStats };

export interface PostedOrder extends Delivery {
  index: number;
  orderId: string;
  customerId: string;
  messageId: string;
}

export interface OrderStreamOptions {
  url: () => string;
  writeKey: string;
  runId: string;
  rate: number;
  durationMs: number;
  customers: number;
  signal: AbortSignal;
}

/** An `Order Completed` track call with the buyer's traits, as a store's backend sends it. */
export function orderCompletedCall(o: { customerId: string; customer: number; orderId: string; messageId: string; index: number; at: Date }): Record<string, unknown> {
  const price = 10 + (o.index % 40);
  return {
    type: 'track',
    messageId: o.messageId,
    timestamp: o.at.toISOString(),
    userId: o.customerId,
    event: 'Order Completed',
    context: { traits: { email: `shopper.c${o.customer}@example.com`, first_name: 'Pat', last_name: `Customer ${o.customer}` } },
    properties: { order_id: o.orderId, total: price, currency: 'USD', products: [{ sku: `SKU-${o.index % 7}`, name: 'Pour-Over Kettle', price, quantity: 1 }] },
  };
}

export function orderCall(runId: string, index: number, customers: number, now: Date): { customerId: string; orderId: string; messageId: string; body: Record<string, unknown> } {
  const customer = index % customers;
  const ids = { customerId: `chaos-${runId}-c${customer}`, orderId: `CH-${index}`, messageId: `chaos-${runId}-order-${index}` };
  return { ...ids, body: orderCompletedCall({ ...ids, customer, index, at: now }) };
}

export function streamOrders(opts: OrderStreamOptions): { orders: PostedOrder[]; stats: StreamStats; done: Promise<void> } {
  const orders: PostedOrder[] = [];
  const client = segmentClient({ baseUrl: opts.url, writeKey: opts.writeKey, signal: opts.signal });
  const inFlight: Promise<void>[] = [];

  const run = async (): Promise<void> => {
    const startedAt = Date.now();
    const total = Math.round((opts.rate * opts.durationMs) / 1000);
    for (let index = 0; index < total && !opts.signal.aborted; index++) {
      // Paced against the start, so a slow post does not slow the stream down.
      const dueAt = startedAt + (index * 1000) / opts.rate;
      if (dueAt > Date.now()) await sleep(dueAt - Date.now(), undefined, { signal: opts.signal }).catch(() => undefined);
      if (opts.signal.aborted) break;
      const now = new Date();
      const call = orderCall(opts.runId, index, opts.customers, now);
      const order: PostedOrder = { index, orderId: call.orderId, customerId: call.customerId, messageId: call.messageId, firstPostedAt: now.getTime(), acceptedAt: undefined, attempts: 0, lastProblem: undefined };
      orders.push(order);
      inFlight.push(client.deliver('/v1/track', JSON.stringify(call.body), order));
    }
    await Promise.all(inFlight);
    client.close();
  };

  return { orders, stats: client.stats, done: run() };
}
