import type { LifecycleEvent, Money } from '@lifecycle/contracts';

/** A code used on an order (or applied to a cart with no order yet). */
export interface CouponUse {
  /** As the shop sent it, upper-cased and trimmed. */
  code: string;
  /** The order it was used on; null for a `Coupon Applied` without one. */
  orderId: string | null;
  /** The order's value (`Order Completed` only). */
  value: Money | null;
  at: Date;
}

function text(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** `coupon` may hold several codes, comma separated (Segment's spec allows it on orders). */
function codes(value: unknown): string[] {
  const t = text(value);
  if (t === null) return [];
  return [...new Set(t.split(',').map((c) => c.trim().toUpperCase()).filter((c) => c !== ''))];
}

/**
 * The coupon uses in a `lifecycle.events` record: `Order Completed` with `coupon`, and
 * `Coupon Applied` (`coupon`, else `coupon_name` or `coupon_id`). Anything else: none.
 */
export function couponUses(event: LifecycleEvent): CouponUse[] {
  const { call } = event.payload;
  if (call.type !== 'track') return [];
  const p = call.properties;
  const at = new Date(call.timestamp);
  const orderId = text(p.order_id) ?? text(p.orderId);
  if (call.event === 'Order Completed') {
    const value = call.normalized?.orderValue ?? null;
    return codes(p.coupon).map((code) => ({ code, orderId: orderId ?? `event:${event.id}`, value, at }));
  }
  if (call.event === 'Coupon Applied') {
    return codes(p.coupon ?? p.coupon_name ?? p.coupon_id).map((code) => ({ code, orderId, value: null, at }));
  }
  return [];
}
