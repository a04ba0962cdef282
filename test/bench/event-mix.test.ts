import { describe, expect, it } from 'vitest';
import { SegmentCall } from '@lifecycle/contracts';
import { customerAt, defaultMix, kindAt, mixedEvent, parseMix, type EventKind } from './event-mix.ts';

const at = new Date('2026-12-02T10:00:00.000Z');

function countKinds(from: number, to: number, mix = parseMix(defaultMix)): Record<EventKind, number> {
  const counts: Record<EventKind, number> = { orders: 0, views: 0, carts: 0, identifies: 0 };
  for (let i = from; i < to; i++) counts[kindAt(i, mix)] += 1;
  return counts;
}

describe('the bench traffic mix', () => {
  it('reads weights as shares, a kind left out getting none', () => {
    expect(parseMix('orders=10,views=55,carts=20,identifies=15')).toEqual({ orders: 0.1, views: 0.55, carts: 0.2, identifies: 0.15 });
    expect(parseMix('orders=1, views=3')).toEqual({ orders: 0.25, views: 0.75, carts: 0, identifies: 0 });
  });

  it('says which part of a mix it cannot read', () => {
    expect(() => parseMix('orders=10,returns=5')).toThrow('"returns=5" is not <kind>=<weight>');
    expect(() => parseMix('orders=ten')).toThrow('"orders=ten"');
    expect(() => parseMix('orders=0')).toThrow('add up to 0');
  });

  it('holds each share within a few events over any stretch of the stream', () => {
    for (const [from, to] of [
      [0, 1_000],
      [12_345, 13_345],
      [0, 300_000],
    ] as const) {
      const counts = countKinds(from, to);
      const n = to - from;
      expect(Math.abs(counts.orders - 0.1 * n)).toBeLessThanOrEqual(5);
      expect(Math.abs(counts.views - 0.55 * n)).toBeLessThanOrEqual(5);
      expect(Math.abs(counts.carts - 0.2 * n)).toBeLessThanOrEqual(5);
      expect(Math.abs(counts.identifies - 0.15 * n)).toBeLessThanOrEqual(5);
    }
  });

  it('makes only the kinds with a weight', () => {
    expect(countKinds(0, 500, parseMix('orders=1'))).toEqual({ orders: 500, views: 0, carts: 0, identifies: 0 });
  });

  it('spreads the events over every customer, none much busier than the others', () => {
    const customers = 1_000;
    const hits = new Array<number>(customers).fill(0);
    for (let i = 0; i < 100_000; i++) hits[customerAt(i, customers)] = (hits[customerAt(i, customers)] ?? 0) + 1;
    expect(Math.min(...hits)).toBeGreaterThan(50);
    expect(Math.max(...hits)).toBeLessThan(150);
  });

  it('makes the same event for the same index, with ids unique to the run and the order', () => {
    const mix = parseMix(defaultMix);
    const orderIndex = Array.from({ length: 100 }, (_, i) => i).find((i) => kindAt(i, mix) === 'orders') ?? -1;
    const event = mixedEvent('run1', orderIndex, mix, 50_000, at);
    expect(mixedEvent('run1', orderIndex, mix, 50_000, at)).toEqual(event);
    expect(event).toMatchObject({ kind: 'orders', orderId: `E2E-${orderIndex}`, messageId: `run1-${orderIndex}`, customerId: `c${customerAt(orderIndex, 50_000)}` });
    expect(event.call).toMatchObject({ type: 'track', event: 'Order Completed', userId: event.customerId, timestamp: at.toISOString(), properties: { order_id: event.orderId } });
  });

  it('makes calls ingestion accepts: every kind matches the Segment contract', () => {
    const mix = parseMix(defaultMix);
    const seen = new Set<EventKind>();
    for (let i = 0; i < 40; i++) {
      const event = mixedEvent('run1', i, mix, 50_000, at);
      seen.add(event.kind);
      expect(SegmentCall.safeParse(event.call).success, `${event.kind} ${JSON.stringify(event.call)}`).toBe(true);
      expect(event.orderId !== undefined).toBe(event.kind === 'orders');
    }
    expect([...seen].sort()).toEqual(['carts', 'identifies', 'orders', 'views']);
  });
});
