import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Orders posted to ingestion's Segment API (`POST /v1/track`) at a steady rate, as a store's
 * Segment client would: a call answered 503 (Kafka unavailable), 5xx, or not at all (the service
 * is down, the connection dropped) is posted again with the same messageId after a backoff, until
 * it is accepted. Ingestion drops the repeats of a call it did store.
 */

export interface PostedOrder {
  index: number;
  orderId: string;
  customerId: string;
  messageId: string;
  firstPostedAt: number;
  /** When a post was answered 200; undefined until then. */
  acceptedAt: number | undefined;
  attempts: number;
  /** The last answer other than 200, for the report of an order never accepted. */
  lastProblem: string | undefined;
}

export interface StreamStats {
  posted: number;
  accepted: number;
  /** Posts answered 503 or another 5xx. */
  unavailable: number;
  /** Posts that got no answer: refused, reset, timed out. */
  connectionErrors: number;
  /** Posts answered 4xx: the call itself is wrong, a bug in the run; never retried. */
  refused: number;
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

export function orderCall(runId: string, index: number, customers: number, now: Date): { customerId: string; orderId: string; messageId: string; body: Record<string, unknown> } {
  const customer = index % customers;
  const customerId = `chaos-${runId}-c${customer}`;
  const orderId = `CH-${index}`;
  const messageId = `chaos-${runId}-order-${index}`;
  const price = 10 + (index % 40);
  return {
    customerId,
    orderId,
    messageId,
    body: {
      type: 'track',
      messageId,
      timestamp: now.toISOString(),
      userId: customerId,
      event: 'Order Completed',
      context: { traits: { email: `chaos.c${customer}@example.com`, first_name: 'Chaos', last_name: `Customer ${customer}` } },
      properties: { order_id: orderId, total: price, currency: 'USD', products: [{ sku: `SKU-${index % 7}`, name: 'Pour-Over Kettle', price, quantity: 1 }] },
    },
  };
}

/** 0.5 s, 1 s, 2 s, 4 s, then 5 s between posts of one call; the 503's Retry-After is 5 s. */
function backoffMs(attempt: number): number {
  return Math.min(5_000, 500 * 2 ** (attempt - 1));
}

export function streamOrders(opts: OrderStreamOptions): { orders: PostedOrder[]; stats: StreamStats; done: Promise<void> } {
  const orders: PostedOrder[] = [];
  const stats: StreamStats = { posted: 0, accepted: 0, unavailable: 0, connectionErrors: 0, refused: 0 };
  const authorization = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`;
  const inFlight: Promise<void>[] = [];

  const deliver = async (order: PostedOrder, body: string): Promise<void> => {
    while (!opts.signal.aborted) {
      order.attempts += 1;
      stats.posted += 1;
      try {
        const response = await fetch(`${opts.url()}/v1/track`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body,
          signal: AbortSignal.any([opts.signal, AbortSignal.timeout(10_000)]),
        });
        const text = await response.text();
        if (response.status === 200) {
          order.acceptedAt = Date.now();
          stats.accepted += 1;
          return;
        }
        order.lastProblem = `${response.status} ${text.slice(0, 200)}`;
        if (response.status < 500) {
          stats.refused += 1;
          return;
        }
        stats.unavailable += 1;
      } catch (err) {
        if (opts.signal.aborted) return;
        stats.connectionErrors += 1;
        order.lastProblem = err instanceof Error ? `${err.name}: ${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err);
      }
      await sleep(backoffMs(order.attempts), undefined, { signal: opts.signal }).catch(() => undefined);
    }
  };

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
      inFlight.push(deliver(order, JSON.stringify(call.body)));
    }
    await Promise.all(inFlight);
  };

  return { orders, stats, done: run() };
}
