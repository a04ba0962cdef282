import { describe, expect, it } from 'vitest';
import type { ConsentChanged, LifecycleEvent, Stage } from '@lifecycle/contracts';
import { applyConsent, applyEvent, emptyProfile, type Profile } from './profile.ts';
import { decideStage, nextCheckAt, orderFigures } from './stage-rules.ts';
import { shippedThresholds as t } from '../../test/thresholds.ts';
import { isHistorical } from './thresholds.ts';

let seq = 0;
function track(event: string, at: string, properties: Record<string, unknown> = {}): LifecycleEvent {
  const messageId = `m-${seq++}`;
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

const day = (n: number): string => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();
const order = (n: number, id = `o-${n}`) => track('Order Completed', day(n), { order_id: id, total: 10, currency: 'USD', products: [] });

function fold(events: LifecycleEvent[], stage: Stage | null = null): Profile {
  const profile = events.reduce(applyEvent, emptyProfile('c-1', events[0]?.occurredAt ?? day(0)));
  return { ...profile, stage };
}

describe('decideStage', () => {
  type Row = [string, LifecycleEvent[], Stage | null, string, Stage, string];
  const rows: Row[] = [
    ['a first page view', [track('Page Viewed', day(0))], null, day(0), 'awareness', 'first_seen'],
    ['a product view', [track('Product Viewed', day(0))], 'awareness', day(0), 'consideration', 'shopping_intent'],
    ['a started checkout', [track('Checkout Started', day(0))], null, day(0), 'consideration', 'shopping_intent'],
    ['the first order', [track('Product Viewed', day(0)), order(1)], 'consideration', day(1), 'conversion', 'first_order'],
    ['a second order', [order(0), order(30)], 'conversion', day(30), 'retention', 'repeat_order'],
    ['an NPS of 10', [order(0), track('NPS Survey Answered', day(2), { score: 10 })], 'conversion', day(2), 'advocacy', 'promoter'],
    ['an NPS of 8', [order(0), track('NPS Survey Answered', day(2), { score: 8 })], 'conversion', day(2), 'conversion', 'first_order'],
    ['a 4-star review', [order(0), track('Product Reviewed', day(2), { rating: 4 })], 'conversion', day(2), 'advocacy', 'promoter'],
    ['a 3-star review', [order(0), track('Product Reviewed', day(2), { rating: 3 })], 'conversion', day(2), 'conversion', 'first_order'],
    ['a completed referral', [order(0), track('Referral Completed', day(2))], 'retention', day(2), 'advocacy', 'promoter'],
    ['a shared product', [order(0), track('Product Shared', day(2))], 'conversion', day(2), 'advocacy', 'promoter'],
    ['one order and 60 days of silence', [order(0)], 'conversion', day(60), 'at_risk', 'silent_past_expected_repurchase'],
    ['one order and 59 days of silence', [order(0)], 'conversion', day(59), 'conversion', 'first_order'],
    ['one order and 180 days of silence', [order(0)], 'at_risk', day(180), 'lapsed', 'silent_past_lapsed_threshold'],
    ['a 20-day buyer silent for 30 days', [order(0), order(20), order(40)], 'retention', day(70), 'at_risk', 'silent_past_expected_repurchase'],
    ['a 20-day buyer silent for 29 days', [order(0), order(20), order(40)], 'retention', day(69), 'retention', 'repeat_order'],
    ['a new order after at_risk', [order(0), order(70)], 'at_risk', day(70), 'retention', 'reactivated'],
    ['a new order after lapsed', [order(0), order(200)], 'lapsed', day(200), 'retention', 'reactivated'],
    ['a new order after at_risk, NPS 10 before', [order(0), track('NPS Survey Answered', day(1), { score: 10 }), order(70)], 'at_risk', day(70), 'retention', 'reactivated'],
    ['an NPS of 10 after reactivating', [order(0), order(70), track('NPS Survey Answered', day(71), { score: 10 })], 'retention', day(71), 'advocacy', 'promoter'],
    ['an NPS of 3 after an NPS of 10', [order(0), track('NPS Survey Answered', day(1), { score: 10 }), track('NPS Survey Answered', day(2), { score: 3 })], 'advocacy', day(2), 'conversion', 'first_order'],
    ['a refund of the only order', [order(0), track('Order Refunded', day(3), { order_id: 'o-0' })], 'conversion', day(3), 'awareness', 'orders_refunded'],
    ['a refund of one of two orders', [order(0), order(10), track('Order Refunded', day(11), { order_id: 'o-10' })], 'retention', day(11), 'conversion', 'first_order'],
    ['a cancellation after cart activity', [track('Product Added', day(0)), order(1), track('Order Cancelled', day(1), { order_id: 'o-1' })], 'conversion', day(1), 'consideration', 'orders_refunded'],
  ];
  it.each(rows.map(([name, events, was, now, stage, reason]) => ({ name, events, was, now, stage, reason })))(
    'after $name (was $was) decides $stage, $reason',
    ({ events, was, now, stage, reason }) => {
      expect(decideStage(fold(events, was), now, t)).toEqual({ stage, reason });
    },
  );
});

describe('nextCheckAt', () => {
  it('asks to be woken when the customer would turn at_risk, then lapsed, then never', () => {
    const profile = fold([order(0)]);
    expect(nextCheckAt(profile, day(0), t)).toBe(day(60));
    expect(nextCheckAt(profile, day(60), t)).toBe(day(180));
    expect(nextCheckAt(profile, day(180), t)).toBeNull();
    expect(nextCheckAt(fold([track('Product Viewed', day(0))]), day(0), t)).toBeNull();
  });
});

describe('applyEvent', () => {
  it('gives the same profile whatever order the events arrive in', () => {
    const events = [
      track('Product Viewed', day(0)),
      { ...track('Identify', day(1)), payload: { call: { type: 'identify' as const, messageId: 'i-1', timestamp: day(1), userId: 'c-1', traits: { email: 'old@example.com' } } } },
      order(2),
      { ...track('Identify', day(5)), payload: { call: { type: 'identify' as const, messageId: 'i-2', timestamp: day(5), userId: 'c-1', traits: { email: 'new@example.com', first_name: 'Noa' } } } },
      track('NPS Survey Answered', day(6), { score: 4 }),
      track('NPS Survey Answered', day(9), { score: 10 }),
      order(30),
      track('Order Refunded', day(31), { order_id: 'o-30' }),
      order(40),
      track('Product Reviewed', day(41), { rating: 5 }),
    ];
    const inOrder = fold(events);
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
    for (let round = 0; round < 50; round++) {
      const shuffled = [...events];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = random(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      expect(fold(shuffled)).toEqual(inOrder);
    }
    expect(inOrder).toMatchObject({ email: 'new@example.com', firstName: 'Noa', npsScore: 10, orders: [{ orderId: 'o-2' }, { orderId: 'o-40' }] });
  });

  it('keeps identity traits by event time, and leaves consent to its owner’s records', () => {
    const identify = { ...track('Identify', day(1)), payload: { call: { type: 'identify' as const, messageId: 'i-9', timestamp: day(1), userId: 'c-1', traits: { locale: 'ja-JP', timezone: 'Asia/Tokyo', birthday: '1990-02-28', created_at: day(1) } } } };
    const events = [identify, track('Email Unsubscribed', day(9)), track('Email Subscribed', day(3))];
    const profile = fold(events);
    expect(profile).toMatchObject({ locale: 'ja-JP', timeZone: 'Asia/Tokyo', birthday: '1990-02-28', signedUpAt: day(1), consent: null, subscribed: null });
    expect(fold([...events].reverse())).toEqual(profile);
  });

  it('takes consent from the owner’s records, the highest sequence winning whatever the arrival order', () => {
    const consent = (sequence: number, state: ConsentChanged['payload']['state'], at: string): ConsentChanged => ({
      id: `consent:c-1:${sequence}`,
      type: 'consent.changed',
      version: 1,
      occurredAt: at,
      customerId: 'c-1',
      causationId: 'x',
      payload: { state, marketingAllowed: state === 'subscribed', consentAt: at, source: 'unsubscribe-link', sequence, previousState: null },
    });
    const records = [consent(1, 'unsubscribed', day(5)), consent(2, 'subscribed', day(6)), consent(3, 'bounced', day(7))];
    const start = fold([order(0)]);
    const inOrder = records.reduce(applyConsent, start);
    expect(inOrder).toMatchObject({ consent: { state: 'bounced', marketingAllowed: false, changedAt: day(7), source: 'unsubscribe-link', sequence: 3 }, subscribed: false, subscribedAt: day(7) });
    expect([...records].reverse().reduce(applyConsent, start)).toEqual(inOrder);
    expect(applyConsent(inOrder, records[2]!)).toBe(inOrder);
  });
});

describe('isHistorical', () => {
  it('marks what reached Kafka more than the horizon after it happened', () => {
    const arrived = Date.parse(day(30));
    expect(isHistorical(day(22), arrived, t)).toBe(true);
    expect(isHistorical(day(23), arrived, t)).toBe(false);
    expect(isHistorical(day(40), arrived, t)).toBe(false);
  });
});

describe('orderFigures', () => {
  it('sums revenue per currency, averages orders and review ratings, and takes the median order gap', () => {
    const profile = fold([order(0), order(10), order(40), track('Product Reviewed', day(41), { rating: 5 }), track('Product Reviewed', day(42), { rating: 2 })]);
    expect(orderFigures(profile)).toEqual({ revenue: { USD: 30 }, averageOrderValue: { USD: 10 }, medianGapDays: 20, averageReviewRating: 3.5 });
  });

  it('counts one currency under one code however the store spelt it, in major units', () => {
    const checked = track('Order Completed', day(2), { order_id: 'o-c', total: 5000, currency: 'Jpy ' });
    if (checked.payload.call.type !== 'track') throw new Error('a track call');
    checked.payload.call.normalized = { timestampOffset: 'Z', money: { currency: 'JPY', amounts: { total: 5000 } } };
    const profile = fold([
      track('Order Completed', day(0), { order_id: 'o-a', total: 19.99, currency: 'eur' }),
      track('Order Completed', day(1), { order_id: 'o-b', total: 0.01, currency: ' EUR ' }),
      checked,
      track('Order Completed', day(3), { order_id: 'o-d', total: 5 }),
    ]);
    expect(orderFigures(profile).revenue).toEqual({ EUR: 20, JPY: 5000, USD: 5 });
  });
});
