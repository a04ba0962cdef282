import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { applyEvent, emptyProfile, type Profile } from './profile.ts';
import { decideStage } from './stage-rules.ts';

function track(event: string, at: string, properties: Record<string, unknown> = {}): LifecycleEvent {
  const messageId = `${event}-${at}`;
  return {
    id: messageId,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId: 'c-1',
    causationId: messageId,
    payload: { call: { type: 'track', messageId, timestamp: at, userId: 'c-1', event, properties } },
  };
}

function fold(events: LifecycleEvent[]): Profile {
  return events.reduce(applyEvent, emptyProfile('c-1', events[0]?.occurredAt ?? '2026-01-01T00:00:00.000Z'));
}

const order = (at: string) => track('Order Completed', at, { order_id: at, total: 10, currency: 'USD', products: [] });

describe('decideStage', () => {
  it.each([
    ['a first page view', [track('Page Viewed', '2026-01-01T00:00:00.000Z')], 'awareness', 'first_seen'],
    ['a product view', [track('Product Viewed', '2026-01-01T00:00:00.000Z')], 'consideration', 'shopping_intent'],
    ['a started checkout', [track('Checkout Started', '2026-01-01T00:00:00.000Z')], 'consideration', 'shopping_intent'],
    ['the first order', [track('Product Viewed', '2026-01-01T00:00:00.000Z'), order('2026-01-02T00:00:00.000Z')], 'conversion', 'first_order'],
    ['a second order', [order('2026-01-02T00:00:00.000Z'), order('2026-02-02T00:00:00.000Z')], 'retention', 'repeat_order'],
  ])('puts a customer after %s in %s', (_name, events, stage, reason) => {
    expect(decideStage(fold(events))).toEqual({ stage, reason });
  });
});

describe('applyEvent', () => {
  it('keeps first and last order by event time when events arrive out of order', () => {
    const profile = fold([order('2026-03-01T00:00:00.000Z'), order('2026-01-01T00:00:00.000Z')]);
    expect(profile).toMatchObject({ orderCount: 2, firstOrderAt: '2026-01-01T00:00:00.000Z', lastOrderAt: '2026-03-01T00:00:00.000Z' });
  });

  it('takes the email and first name from the traits a call carries', () => {
    const event = track('Order Completed', '2026-01-01T00:00:00.000Z', { order_id: '1', total: 1, currency: 'USD', products: [] });
    event.payload.call.context = { traits: { email: 'ann@example.com', first_name: 'Ann' } };
    expect(fold([event])).toMatchObject({ email: 'ann@example.com', firstName: 'Ann' });
  });
});
