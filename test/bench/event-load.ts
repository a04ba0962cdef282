import { setTimeout as sleep } from 'node:timers/promises';
import { newDelivery, segmentClient, type Delivery, type StreamStats } from '../chaos/segment-client.ts';
import { mixedEvent, type EventKind, type Mix, type MixedEvent } from './event-mix.ts';

/**
 * A steady stream of Segment calls to `POST /v1/batch`, batched as `@segment/analytics-node`
 * batches: a batch goes out when it holds `batchSize` events (its `flushAt`, 15 by default) or
 * `flushMs` after its first event (its `flushInterval`, 10 s). Event n is made when it is due,
 * n / rate seconds after the start, so the generator wakes once a batch, not once an event.
 */

export interface PostedBatch extends Delivery {
  events: number;
}

export interface LoadOrder {
  orderId: string;
  customerId: string;
  messageId: string;
  /** The batch that carried it: its first post is the order's HTTP call. */
  batch: PostedBatch;
}

export interface EventLoadOptions {
  baseUrl: () => string;
  writeKey: string;
  runId: string;
  rate: number;
  durationMs: number;
  mix: Mix;
  customers: number;
  batchSize: number;
  flushMs: number;
  /** Posts of one batch at most before the client gives it up (analytics-node: 4). */
  maxPosts: number;
  signal: AbortSignal;
}

export interface EventLoad {
  orders: LoadOrder[];
  batches: PostedBatch[];
  /** Events made so far, by kind. */
  counts: Record<EventKind, number>;
  stats: StreamStats;
  /** Events of the batches accepted so far. */
  acceptedEvents: () => number;
  /** Posts waiting for an answer. */
  inFlight: () => number;
  /** The most a batch went out after its last event was due: the generator's own lateness. */
  maxLateMs: () => number;
  startedAt: number;
  done: Promise<void>;
}

export function streamEvents(opts: EventLoadOptions): EventLoad {
  const client = segmentClient({ baseUrl: opts.baseUrl, writeKey: opts.writeKey, signal: opts.signal, maxPosts: opts.maxPosts });
  const orders: LoadOrder[] = [];
  const batches: PostedBatch[] = [];
  const counts: Record<EventKind, number> = { orders: 0, views: 0, carts: 0, identifies: 0 };
  const pending = new Set<Promise<void>>();
  const startedAt = Date.now();
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  const dueAt = (index: number): number => startedAt + (index * 1000) / opts.rate;
  let acceptedEvents = 0;
  let maxLateMs = 0;
  let open: MixedEvent[] = [];
  let openedAt = 0;

  const flush = (lastDueAt: number): void => {
    if (open.length === 0) return;
    const batch: PostedBatch = { ...newDelivery(), events: open.length };
    batches.push(batch);
    for (const event of open) if (event.orderId !== undefined) orders.push({ orderId: event.orderId, customerId: event.customerId, messageId: event.messageId, batch });
    const body = JSON.stringify({ batch: open.map((e) => e.call), sentAt: new Date().toISOString() });
    open = [];
    maxLateMs = Math.max(maxLateMs, Date.now() - lastDueAt);
    const delivered = client.deliver('/v1/batch', body, batch).then(() => {
      if (batch.acceptedAt !== undefined) acceptedEvents += batch.events;
    });
    pending.add(delivered);
    void delivered.finally(() => pending.delete(delivered));
  };

  const run = async (): Promise<void> => {
    let next = 0;
    while (next < total && !opts.signal.aborted) {
      const now = Date.now();
      while (next < total && dueAt(next) <= now) {
        if (open.length === 0) openedAt = dueAt(next);
        const event = mixedEvent(opts.runId, next, opts.mix, opts.customers, new Date(dueAt(next)));
        counts[event.kind] += 1;
        open.push(event);
        next += 1;
        if (open.length >= opts.batchSize) flush(dueAt(next - 1));
      }
      if (open.length > 0 && now - openedAt >= opts.flushMs) flush(dueAt(next - 1));
      if (next >= total) break;
      // Until the open batch would be full, or its flush interval is up.
      const fullAt = dueAt(Math.min(total - 1, next + opts.batchSize - open.length - 1));
      const wakeAt = Math.min(fullAt, open.length > 0 ? openedAt + opts.flushMs : Number.POSITIVE_INFINITY);
      await sleep(Math.max(0, wakeAt - Date.now()), undefined, { signal: opts.signal }).catch(() => undefined);
    }
    // What is left goes out at the end, as the client's closeAndFlush() sends it.
    flush(dueAt(Math.max(0, next - 1)));
    while (pending.size > 0) await Promise.all([...pending]);
    client.close();
  };

  return {
    orders,
    batches,
    counts,
    stats: client.stats,
    acceptedEvents: () => acceptedEvents,
    inFlight: client.inFlight,
    maxLateMs: () => maxLateMs,
    startedAt,
    done: run(),
  };
}
