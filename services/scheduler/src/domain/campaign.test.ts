import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { Campaign, planJob } from './campaign.ts';

const thankYou = Campaign.parse({
  id: 'post-purchase-thank-you',
  name: 'Thank you',
  template: 'post-purchase-thank-you',
  category: 'transactional',
  trigger: { event: 'Order Completed' },
  delay: 'PT2H',
});

function event(name: string, properties: Record<string, unknown>): LifecycleEvent {
  return {
    id: 'evt-1',
    type: 'commerce.event',
    version: 1,
    occurredAt: '2026-11-20T10:00:00.000Z',
    customerId: 'c-1',
    causationId: 'evt-1',
    payload: { call: { type: 'track', messageId: 'evt-1', timestamp: '2026-11-20T10:00:00.000Z', userId: 'c-1', event: name, properties } },
  };
}

const order = { order_id: 'o-9', total: 25, currency: 'EUR', products: [{ name: 'Socks', price: 12.5, quantity: 2, sku: 'S-1' }] };

describe('planJob', () => {
  it('plans the thank-you the delay after the order, with the order lines', () => {
    expect(planJob(thankYou, event('Order Completed', order))).toEqual({
      dedupeKey: 'post-purchase-thank-you:c-1:evt-1',
      campaignId: 'post-purchase-thank-you',
      customerId: 'c-1',
      triggerEventId: 'evt-1',
      dueAt: new Date('2026-11-20T12:00:00.000Z'),
      triggerData: {
        order: { orderId: 'o-9', total: 25, currency: 'EUR', products: [{ name: 'Socks', quantity: 2, price: 12.5, sku: 'S-1', url: undefined, imageUrl: undefined }] },
      },
    });
  });

  it('plans nothing for other events or when the campaign is disabled', () => {
    expect(planJob(thankYou, event('Product Viewed', {}))).toBeNull();
    expect(planJob({ ...thankYou, enabled: false }, event('Order Completed', order))).toBeNull();
  });

  it('gives the same key when the same trigger is planned twice', () => {
    expect(planJob(thankYou, event('Order Completed', order))?.dedupeKey).toBe(planJob(thankYou, event('Order Completed', order))?.dedupeKey);
  });
});

describe('Campaign file schema', () => {
  it('names the field and the fix for a bad delay', () => {
    const result = Campaign.safeParse({ ...thankYou, delay: 'two days' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['delay'], message: expect.stringContaining('P7D') });
  });
});
