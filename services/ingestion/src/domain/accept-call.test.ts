import { describe, expect, it } from 'vitest';
import { SegmentCall } from '@lifecycle/contracts';
import { acceptCall, linkOf } from './accept-call.ts';

const order = {
  type: 'track',
  messageId: 'msg-1',
  timestamp: '2026-11-20T10:15:00+09:00',
  userId: 'cust-1',
  event: 'Order Completed',
  properties: { order_id: 'o-1', total: 42.5, currency: 'jpy', products: [{ name: 'Tea', price: 21.25, quantity: 2 }] },
};

function call(raw: unknown): SegmentCall {
  return SegmentCall.parse(raw);
}

/** After every timestamp below, so none is capped. */
const receivedAt = new Date('2026-11-20T12:00:00Z');

describe('acceptCall', () => {
  it('turns an Order Completed into a lifecycle event keyed by the customer, in UTC', () => {
    const result = acceptCall(call(order), { receivedAt });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({ id: 'msg-1', customerId: 'cust-1', occurredAt: '2026-11-20T01:15:00.000Z', causationId: 'msg-1' });
    expect(result.event.payload.call).toMatchObject({ properties: { currency: 'JPY', total: 42.5 } });
  });

  it('falls back to the anonymous id before sign-up', () => {
    const result = acceptCall(call({ ...order, userId: undefined, anonymousId: 'anon-9' }), { receivedAt });
    expect(result.ok && result.event.customerId).toBe('anon-9');
  });

  it('rejects a known event with a wrong shape, naming the field', () => {
    const result = acceptCall(call({ ...order, properties: { order_id: 'o-1', total: 'lots' } }), { receivedAt });
    expect(result).toMatchObject({ ok: false, reason: '"Order Completed" properties do not match the E-commerce Spec' });
    expect(!result.ok && result.errors.join()).toContain('properties.total');
  });

  it('passes an unknown event through as a custom event', () => {
    const result = acceptCall(call({ ...order, event: 'Gift Card Redeemed', properties: { anything: true } }), { receivedAt });
    expect(result.ok && result.event.payload.call).toMatchObject({ event: 'Gift Card Redeemed', properties: { anything: true } });
  });
});

describe('event time', () => {
  // The client's clock runs two hours fast: it stamped the order at 12:14 and sent it at 12:15
  // by its clock, and ingestion received it at 10:15:00.300 by the server's.
  const fast = { ...order, timestamp: '2026-11-20T21:14:00+09:00', sentAt: '2026-11-20T12:15:00.000Z' };
  const arrival = new Date('2026-11-20T10:15:00.300Z');

  it('corrects the timestamp of a client whose clock runs two hours fast, and keeps the one it sent', () => {
    const result = acceptCall(call(fast), { receivedAt: arrival });
    expect(result.ok && result.event.occurredAt).toBe('2026-11-20T10:14:00.300Z');
    expect(result.ok && result.event.payload.call).toMatchObject({
      timestamp: '2026-11-20T10:14:00.300Z',
      sentAt: '2026-11-20T12:15:00.000Z',
      normalized: { timestampOffset: '+09:00', originalTimestamp: '2026-11-20T12:14:00.000Z', receivedAt: '2026-11-20T10:15:00.300Z' },
    });
  });

  it('keeps the timestamp of a client whose clock agrees with the server, and says when the call was received', () => {
    const result = acceptCall(call({ ...fast, sentAt: '2026-11-20T10:15:02Z', timestamp: '2026-11-20T10:14:00Z' }), { receivedAt: arrival });
    expect(result.ok && result.event.occurredAt).toBe('2026-11-20T10:14:00.000Z');
    expect(result.ok && result.event.payload.call.normalized).toMatchObject({ originalTimestamp: '2026-11-20T10:14:00.000Z', receivedAt: '2026-11-20T10:15:00.300Z' });
  });

  it('without a readable sentAt keeps the timestamp, but never after the call was received', () => {
    const past = acceptCall(call({ ...fast, sentAt: 'soon', timestamp: '2026-11-20T10:14:00Z' }), { receivedAt: arrival });
    expect(past.ok && past.event.occurredAt).toBe('2026-11-20T10:14:00.000Z');
    const future = acceptCall(call({ ...fast, sentAt: undefined }), { receivedAt: arrival });
    expect(future.ok && future.event).toMatchObject({ occurredAt: '2026-11-20T10:15:00.300Z', payload: { call: { normalized: { originalTimestamp: '2026-11-20T12:14:00.000Z' } } } });
  });
});

describe('SegmentCall contract', () => {
  it('refuses a call without messageId, without identity, or of an unknown type', () => {
    expect(SegmentCall.safeParse({ ...order, messageId: undefined }).success).toBe(false);
    expect(SegmentCall.safeParse({ ...order, userId: undefined }).success).toBe(false);
    expect(SegmentCall.safeParse({ ...order, type: 'shout' }).success).toBe(false);
  });
});

describe('identity linking', () => {
  const anonymousView = { type: 'track', messageId: 'v-1', timestamp: '2026-11-20T10:00:00Z', anonymousId: 'anon-7', event: 'Product Viewed', properties: { product_id: 'p1' } };

  it('an identify with both ids links the anonymous id to the user', () => {
    const identify = call({ type: 'identify', messageId: 'i-1', timestamp: '2026-11-20T10:00:00Z', anonymousId: 'anon-7', userId: 'cust-7' });
    expect(linkOf(identify)).toEqual({ anonymousId: 'anon-7', userId: 'cust-7' });
    const result = acceptCall(identify, { receivedAt });
    expect(result.ok && result.event).toMatchObject({ customerId: 'cust-7', payload: { call: { normalized: { linked: { anonymousId: 'anon-7', userId: 'cust-7' } } } } });
  });

  it('an alias links its previous id to the user id', () => {
    expect(linkOf(call({ type: 'alias', messageId: 'a-1', timestamp: '2026-11-20T10:00:00Z', previousId: 'anon-7', userId: 'cust-7' }))).toEqual({ anonymousId: 'anon-7', userId: 'cust-7' });
  });

  it('a later anonymous event belongs to the linked customer', () => {
    const result = acceptCall(call(anonymousView), { receivedAt, linkedUserId: 'cust-7' });
    expect(result.ok && result.event).toMatchObject({ customerId: 'cust-7', payload: { call: { anonymousId: 'anon-7', normalized: { linkedCustomerId: 'cust-7' } } } });
  });

  it('an anonymous event without a link stays with its anonymous id', () => {
    const result = acceptCall(call(anonymousView), { receivedAt, linkedUserId: null });
    expect(result.ok && result.event.customerId).toBe('anon-7');
  });
});
