import { z } from 'zod';
import { addByCurrency, DEFAULT_CURRENCY, Money, moneyFromMajor, type MoneyByCurrency } from './money.ts';
import type { Normalized } from './segment.ts';

/**
 * What an order is worth, the one rule every service uses (ingestion's normalization, the
 * classifier's figures and RFM, the scheduler's lifetime spend, milestones and conversions):
 *
 * - **Value**: the order's `total` (Segment E-commerce Spec: what the customer paid, shipping
 *   and tax included, discounts taken off); `revenue` (which leaves shipping and tax out) only
 *   when an event has no `total`. In integer minor units of the order's currency, as ingestion
 *   converted them (`normalized.orderValue`, else `normalized.money`); records from before
 *   ingestion did so are converted here the same way.
 * - **One count per order id**: an `Order Completed` whose `order_id` is already known changes
 *   nothing (the earliest one wins, so the result does not depend on arrival order).
 * - **Cancellations**: `Order Cancelled` takes the order out, whatever it carries.
 * - **Refunds**: an `Order Refunded` with an amount (`total`, else `revenue`) below the order's
 *   value is a partial refund: the order keeps counting with that much less. One without an
 *   amount, with the order's full value or more, or in another currency than the order takes
 *   the whole order out. Each refund counts once (by event id).
 * - Order and refund may arrive in any order: a refund or cancellation seen first still applies
 *   when its order comes. `Order Updated` does not change the value.
 */

/** The event names that move order value. */
export const orderValueEvents = ['Order Completed', 'Order Refunded', 'Order Cancelled'] as const;

/** What the order-value rule reads of a track call. */
export interface OrderEventInput {
  /** The event's id (envelope id or messageId): refunds count once each. */
  eventId: string;
  event: string;
  /** When it happened (ISO 8601). */
  at: string;
  properties: Record<string, unknown>;
  /** What ingestion computed (`call.normalized`). */
  normalized?: Pick<Normalized, 'money' | 'orderValue'> | undefined;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : null);

/**
 * The amount an order event carries by the rule (`total`, else `revenue`), in minor units; null
 * when it carries neither. Prefers what ingestion computed, so every service sees the same
 * minor units; converts major units itself only for records from before that.
 */
export function orderEventValue(input: Pick<OrderEventInput, 'properties' | 'normalized'>): Money | null {
  const normalized = input.normalized;
  if (normalized?.orderValue !== undefined) return normalized.orderValue;
  const money = normalized?.money;
  if (money !== undefined) {
    const minor = money.amounts['total'] ?? money.amounts['revenue'];
    return minor === undefined ? null : { amountMinor: minor, currency: money.currency };
  }
  const major = [input.properties['total'], input.properties['revenue']].find((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (major === undefined) return null;
  return moneyFromMajor(major, text(input.properties['currency']) ?? DEFAULT_CURRENCY);
}

/** The currency an event's amounts are in: as ingestion checked it, else as sent, else the default. */
export function eventCurrency(input: Pick<OrderEventInput, 'properties' | 'normalized'>): string {
  return input.normalized?.orderValue?.currency ?? input.normalized?.money?.currency ?? text(input.properties['currency'])?.trim().toUpperCase() ?? DEFAULT_CURRENCY;
}

/** The order id an event is about; an order without one is its own event. */
export function orderIdOf(input: Pick<OrderEventInput, 'properties' | 'eventId'>): string {
  return text(input.properties['order_id']) ?? input.eventId;
}

export const LedgerOrder = z.object({ orderId: z.string(), at: z.string(), eventId: z.string(), value: Money });
export type LedgerOrder = z.infer<typeof LedgerOrder>;
/** `amount` null: the whole order. */
export const LedgerRefund = z.object({ refundId: z.string(), orderId: z.string(), at: z.string(), amount: Money.nullable() });
export type LedgerRefund = z.infer<typeof LedgerRefund>;

/** A customer's orders, refunds and cancellations as they arrived: what order value is derived from. */
export const OrderLedger = z.object({
  orders: z.array(LedgerOrder).default([]),
  refunds: z.array(LedgerRefund).default([]),
  cancelledOrderIds: z.array(z.string()).default([]),
});
export type OrderLedger = z.infer<typeof OrderLedger>;

export const emptyLedger = (): OrderLedger => ({ orders: [], refunds: [], cancelledOrderIds: [] });

const byTime = <T extends { at: string }>(key: (t: T) => string) => (a: T, b: T): number => (a.at < b.at ? -1 : a.at > b.at ? 1 : key(a).localeCompare(key(b)));

/** Whether an event can move order value (the others leave the ledger as it is). */
export function movesOrderValue(event: string): boolean {
  return (orderValueEvents as readonly string[]).includes(event);
}

/** The ledger after one event. Idempotent and order-independent: the same events in any order give the same ledger. */
export function applyOrderEvent(ledger: OrderLedger, input: OrderEventInput): OrderLedger {
  const orderId = orderIdOf(input);
  switch (input.event) {
    case 'Order Completed': {
      const value = orderEventValue(input) ?? { amountMinor: 0, currency: eventCurrency(input) };
      return withOrder(ledger, { orderId, at: input.at, eventId: input.eventId, value });
    }
    case 'Order Cancelled':
      if (ledger.cancelledOrderIds.includes(orderId)) return ledger;
      return { ...ledger, cancelledOrderIds: [...ledger.cancelledOrderIds, orderId].sort() };
    case 'Order Refunded': {
      if (ledger.refunds.some((r) => r.refundId === input.eventId)) return ledger;
      const refund: LedgerRefund = { refundId: input.eventId, orderId, at: input.at, amount: orderEventValue(input) };
      return { ...ledger, refunds: [...ledger.refunds, refund].sort(byTime((r) => r.refundId)) };
    }
    default:
      return ledger;
  }
}

/** The ledger with an order, unless the same order id is already there from an earlier (or the same) event. */
function withOrder(ledger: OrderLedger, entry: LedgerOrder): OrderLedger {
  const known = ledger.orders.find((o) => o.orderId === entry.orderId);
  if (known !== undefined && byTime<LedgerOrder>((o) => o.eventId)(known, entry) <= 0) return ledger;
  const orders = [...ledger.orders.filter((o) => o.orderId !== entry.orderId), entry].sort(byTime((o) => o.orderId));
  return { ...ledger, orders };
}

/** Two ledgers as one (an anonymous id linked to its customer): each order, refund and cancellation once. */
export function mergeLedgers(a: OrderLedger, b: OrderLedger): OrderLedger {
  let merged = a;
  for (const o of b.orders) merged = withOrder(merged, o);
  const refunds = [...merged.refunds, ...b.refunds.filter((r) => !merged.refunds.some((x) => x.refundId === r.refundId))].sort(byTime((x) => x.refundId));
  const cancelledOrderIds = [...new Set([...merged.cancelledOrderIds, ...b.cancelledOrderIds])].sort();
  return { orders: merged.orders, refunds, cancelledOrderIds };
}

/** An order that counts, at its value net of partial refunds. */
export interface NetOrder {
  orderId: string;
  at: string;
  value: Money;
}

/** The orders that count, oldest first, each at its value net of refunds; cancelled and fully refunded ones are out. */
export function netOrders(ledger: OrderLedger): NetOrder[] {
  const cancelled = new Set(ledger.cancelledOrderIds);
  return ledger.orders.flatMap((order): NetOrder[] => {
    if (cancelled.has(order.orderId)) return [];
    let net = order.value.amountMinor;
    for (const refund of ledger.refunds) {
      if (refund.orderId !== order.orderId) continue;
      // Without an amount, or in another currency, how much went back is unknown: the whole order.
      if (refund.amount === null || refund.amount.currency !== order.value.currency) return [];
      net -= refund.amount.amountMinor;
    }
    if (net <= 0 && order.value.amountMinor > 0) return [];
    return [{ orderId: order.orderId, at: order.at, value: { amountMinor: Math.max(net, 0), currency: order.value.currency } }];
  });
}

/** Order ids that no longer count (cancelled or fully refunded), including ones whose order has not arrived. */
export function voidedOrderIds(ledger: OrderLedger): string[] {
  const counted = new Set(netOrders(ledger).map((o) => o.orderId));
  const ids = [...ledger.orders.map((o) => o.orderId), ...ledger.cancelledOrderIds, ...ledger.refunds.filter((r) => r.amount === null).map((r) => r.orderId)];
  return [...new Set(ids)].filter((id) => !counted.has(id)).sort();
}

/** Lifetime spend: the counted orders' net values, per currency (minor units), never mixed. */
export function spendByCurrency(ledger: OrderLedger): MoneyByCurrency {
  return netOrders(ledger).reduce<MoneyByCurrency>((sums, o) => addByCurrency(sums, o.value), {});
}

/** One order's value net of refunds, or null when it does not count (unknown, cancelled, fully refunded). */
export function netOrderValue(ledger: OrderLedger, orderId: string): Money | null {
  return netOrders(ledger).find((o) => o.orderId === orderId)?.value ?? null;
}
