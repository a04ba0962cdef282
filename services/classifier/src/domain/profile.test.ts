import { describe, expect, it } from 'vitest';
import { LifecycleEvent, type MessageEvent } from '@lifecycle/contracts';
import { applyEvent, applyMessageEvent, emptyProfile, ledgerOf, mergeProfiles, type Profile } from './profile.ts';

const track = (id: string, at: string, event: string, properties: Record<string, unknown>, customerId = 'c-1'): LifecycleEvent =>
  LifecycleEvent.parse({ id, type: 'commerce.event', version: 1, occurredAt: at, customerId, causationId: id, payload: { call: { type: 'track', messageId: id, timestamp: at, userId: customerId, event, properties } } });

const fold = (events: LifecycleEvent[], customerId = 'c-1'): Profile => events.reduce(applyEvent, emptyProfile(customerId, '2026-01-01T00:00:00.000Z'));
const orders = (p: Profile) => p.orders.map((o) => [o.orderId, o.total, o.currency, o.amountMinor]);

describe('orders in the profile follow the shared order-value rule', () => {
  it('counts an order at its total (not revenue), each order id once, per currency', () => {
    const p = fold([
      track('e1', '2026-01-02T00:00:00Z', 'Order Completed', { order_id: 'A', total: 3200, revenue: 2900, currency: 'JPY' }),
      track('e2', '2026-01-02T01:00:00Z', 'Order Completed', { order_id: 'A', total: 3200, currency: 'JPY' }),
      track('e3', '2026-01-03T00:00:00Z', 'Order Completed', { order_id: 'B', total: 45.5, revenue: 40, currency: 'EUR' }),
    ]);
    expect(orders(p)).toEqual([
      ['A', 3200, 'JPY', 3200],
      ['B', 45.5, 'EUR', 4550],
    ]);
  });

  it('keeps a partly refunded order at its net value, and drops cancelled or fully refunded ones in any arrival order', () => {
    const events = [
      track('e1', '2026-01-02T00:00:00Z', 'Order Completed', { order_id: 'A', total: 50, currency: 'USD' }),
      track('e2', '2026-01-03T00:00:00Z', 'Order Completed', { order_id: 'B', total: 20, currency: 'USD' }),
      track('e3', '2026-01-04T00:00:00Z', 'Order Completed', { order_id: 'C', total: 10, currency: 'USD' }),
      track('r1', '2026-01-05T00:00:00Z', 'Order Refunded', { order_id: 'A', total: 12.5, currency: 'USD' }),
      track('r2', '2026-01-05T00:00:00Z', 'Order Refunded', { order_id: 'B' }),
      track('x1', '2026-01-05T00:00:00Z', 'Order Cancelled', { order_id: 'C' }),
    ];
    const p = fold(events);
    expect(orders(p)).toEqual([['A', 37.5, 'USD', 3750]]);
    expect(p.voidedOrderIds).toEqual(['B', 'C']);
    expect(orders(fold([...events].reverse()))).toEqual(orders(p));
  });

  it('reads a profile from before the ledger as its orders and voided ids, and merges without counting twice', () => {
    const old: Profile = { ...emptyProfile('c-1', '2026-01-01T00:00:00.000Z'), orders: [{ orderId: 'A', at: '2026-01-02T00:00:00Z', total: 19.99, currency: 'USD' }], voidedOrderIds: ['Z'] };
    expect(ledgerOf(old)).toMatchObject({ orders: [{ orderId: 'A', value: { amountMinor: 1999, currency: 'USD' } }], cancelledOrderIds: ['Z'] });
    const later = applyEvent(old, track('e9', '2026-01-09T00:00:00Z', 'Order Completed', { order_id: 'Z', total: 5, currency: 'USD' }));
    expect(orders(later)).toEqual([['A', 19.99, 'USD', 1999]]);
    const anon = fold([track('a1', '2026-01-02T00:00:00Z', 'Order Completed', { order_id: 'A', total: 19.99, currency: 'USD' }, 'anon')], 'anon');
    expect(orders(mergeProfiles(later, anon))).toEqual([['A', 19.99, 'USD', 1999]]);
  });
});

describe('what became of a message', () => {
  const status = (status: MessageEvent['payload']['status'], occurredAt: string, providerTimestamp?: string): MessageEvent => ({
    id: `m:${status}`,
    type: 'message.status',
    version: 1,
    occurredAt,
    customerId: 'c-1',
    causationId: 'req-1',
    payload: { dedupeKey: 'k-1', campaignId: 'cross-sell', status, ...(providerTimestamp ? { providerTimestamp } : {}) },
  });
  const before = fold([track('e1', '2026-01-02T00:00:00.000Z', 'Product Viewed', {})]);

  it('leaves the profile and its clock alone when the mail was only sent or delivered (the customer did nothing)', () => {
    expect(applyMessageEvent(before, status('sent', '2026-01-09T00:00:00.000Z'))).toEqual(before);
    expect(applyMessageEvent(before, status('delivered', '2026-01-09T00:00:00.000Z', '2026-01-09T00:01:00.000Z'))).toEqual(before);
  });

  it('takes an open or a click as the customer’s engagement, at the provider’s time, and moves the clock to it', () => {
    const opened = applyMessageEvent(before, status('opened', '2026-01-09T00:00:00.000Z', '2026-01-08T20:00:00.000Z'));
    expect(opened).toMatchObject({ lastOpenAt: '2026-01-08T20:00:00.000Z', clockAt: '2026-01-08T20:00:00.000Z' });
    expect(applyMessageEvent(opened, status('clicked', '2026-01-09T00:00:00.000Z'))).toMatchObject({ lastClickAt: '2026-01-09T00:00:00.000Z', clockAt: '2026-01-09T00:00:00.000Z' });
  });
});

describe('the recent events a profile keeps', () => {
  const minute = (n: number) => new Date(Date.UTC(2026, 0, 2) + n * 60_000).toISOString();

  it('keeps the last 50 events by event time, oldest first, whatever order they arrived in', () => {
    const events = Array.from({ length: 55 }, (_, i) => track(`e${i}`, minute(i), i % 2 === 0 ? 'Product Viewed' : 'Order Completed', { order_id: `o${i}`, total: 1 }));
    const p = fold([...events].reverse());
    expect(p.recentEvents).toHaveLength(50);
    expect(p.recentEvents[0]).toEqual({ eventId: 'e5', type: 'Order Completed', occurredAt: minute(5) });
    expect(p.recentEvents.at(-1)).toEqual({ eventId: 'e54', type: 'Product Viewed', occurredAt: minute(54) });
    expect(fold(events).recentEvents).toEqual(p.recentEvents);
    // Arrival order mixed: the newest first, then the rest in order.
    expect(fold([...events.slice(30), ...events.slice(0, 30)]).recentEvents).toEqual(p.recentEvents);
  });

  it('lists a redelivered event once and merges an anonymous id’s events in', () => {
    const customer = fold([track('e1', minute(1), 'Product Viewed', {}), track('e1', minute(1), 'Product Viewed', {})]);
    const anonymous = fold([track('a1', minute(0), 'Cart Viewed', {}, 'anon')], 'anon');
    expect(mergeProfiles(customer, anonymous).recentEvents.map((e) => [e.eventId, e.type])).toEqual([
      ['a1', 'Cart Viewed'],
      ['e1', 'Product Viewed'],
    ]);
  });
});
