import { describe, expect, it } from 'vitest';
import { OrderCompletedProperties, traitsOf } from '@lifecycle/contracts';
import { buildSampleOrder, validateSampleOrder } from './sample-order.ts';

describe('buildSampleOrder', () => {
  it('builds an Order Completed track call that the contracts accept', () => {
    const call = validateSampleOrder(buildSampleOrder({ userId: 'user-7', email: 'Ada@Example.com', now: new Date('2026-03-01T10:00:00Z') }));
    expect(call).toMatchObject({ type: 'track', event: 'Order Completed', userId: 'user-7', timestamp: '2026-03-01T10:00:00.000Z' });
    expect(traitsOf(call)).toMatchObject({ email: 'ada@example.com', first_name: 'Jane', last_name: 'Doe' });
    if (call.type !== 'track') throw new Error('expected a track call');
    const properties = OrderCompletedProperties.parse(call.properties);
    expect(properties.products).toHaveLength(2);
    expect(properties.total).toBe(properties.products.reduce((sum, p) => sum + (p.price ?? 0) * p.quantity, 0));
    expect(properties.currency).toBe('USD');
  });

  it('gives every sample a fresh message id, and a fresh customer unless one is named', () => {
    const a = buildSampleOrder();
    const b = buildSampleOrder();
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.userId).not.toBe(b.userId);
  });

  it('refuses a call the contracts reject, naming the field', () => {
    const bad = { ...buildSampleOrder(), properties: { total: -1 } };
    expect(() => validateSampleOrder(bad)).toThrow(/order_id/);
  });
});
