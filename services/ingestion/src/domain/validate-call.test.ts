import { describe, expect, it } from 'vitest';
import { knownEventProperties } from '@lifecycle/contracts';
import { validateCall } from './validate-call.ts';

const base = { type: 'track', messageId: 'm-1', timestamp: '2026-11-20T10:15:00+09:00', userId: 'u-1' };
const track = (event: string, properties: Record<string, unknown>) => ({ ...base, event, properties });

/** A good and a bad property set for every event Lifecycle knows, with the field the bad one gets wrong. */
const cases: Record<string, { good: Record<string, unknown>; bad: Record<string, unknown>; field: string }> = {
  'Products Searched': { good: { query: 'blue hotpants' }, bad: { query: 42 }, field: 'properties.query' },
  'Product List Viewed': { good: { list_id: 'hot', products: [{ product_id: 'p1', price: 10 }] }, bad: { products: 'all' }, field: 'properties.products' },
  'Product Viewed': { good: { product_id: 'p1', price: 18.99, currency: 'usd' }, bad: { price: -1 }, field: 'properties.price' },
  'Product Added': { good: { product_id: 'p1', quantity: 2, cart_id: 'c1' }, bad: { quantity: 1.5 }, field: 'properties.quantity' },
  'Product Removed': { good: { product_id: 'p1' }, bad: { product_id: 7 }, field: 'properties.product_id' },
  'Cart Viewed': { good: { cart_id: 'c1', products: [] }, bad: { products: [{ quantity: 0 }] }, field: 'properties.products.0.quantity' },
  'Checkout Started': { good: { order_id: 'o1', value: 30, revenue: 25, currency: 'EUR' }, bad: { value: '30' }, field: 'properties.value' },
  'Order Completed': { good: { order_id: 'o1', total: 30, currency: 'usd' }, bad: { total: 30 }, field: 'properties.order_id' },
  'Order Updated': { good: { order_id: 'o1', total: 31 }, bad: { order_id: '' }, field: 'properties.order_id' },
  'Order Refunded': { good: { order_id: 'o1', total: 30 }, bad: { order_id: 'o1', total: -30 }, field: 'properties.total' },
  'Order Cancelled': { good: { order_id: 'o1' }, bad: {}, field: 'properties.order_id' },
  'Product Added to Wishlist': { good: { product_id: 'p1', wishlist_id: 'w1' }, bad: { wishlist_id: 3 }, field: 'properties.wishlist_id' },
  'Product Shared': { good: { product_id: 'p1', share_via: 'email' }, bad: { share_via: false }, field: 'properties.share_via' },
  'Product Reviewed': { good: { product_id: 'p1', rating: 5, review_body: 'Great' }, bad: { product_id: 'p1', rating: 9 }, field: 'properties.rating' },
  'Coupon Applied': { good: { coupon_id: 'SPRING', discount: 5 }, bad: { discount: 'five' }, field: 'properties.discount' },
  'Order Shipped': { good: { order_id: 'o1', carrier: 'DHL', tracking_number: '123' }, bad: { carrier: 'DHL' }, field: 'properties.order_id' },
  'Order Delivered': { good: { order_id: 'o1' }, bad: { order_id: 1 }, field: 'properties.order_id' },
  'NPS Survey Answered': { good: { score: 10, comment: 'love it' }, bad: { score: 11 }, field: 'properties.score' },
  'Referral Completed': { good: { referrer_id: 'u-0', referral_code: 'FRIEND' }, bad: { referral_code: 'FRIEND' }, field: 'properties.referrer_id' },
  'Email Subscribed': { good: { email: ' Ann@Example.com', list_id: 'news' }, bad: { email: 'not-an-email' }, field: 'properties.email' },
  'Email Unsubscribed': { good: { list_id: 'news', reason: 'too many' }, bad: { email: 'nope' }, field: 'properties.email' },
  'Product Updated': { good: { product_id: 'tea-1', stock: 0, in_stock: false, price: 12.5, currency: 'EUR' }, bad: { product_id: 'tea-1', stock: -1 }, field: 'properties.stock' },
};

describe('validateCall: every known event', () => {
  it('covers every event Lifecycle documents', () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(knownEventProperties).sort());
  });

  for (const [event, { good, bad, field }] of Object.entries(cases)) {
    it(`accepts a well-formed "${event}" and names the wrong field of a malformed one`, () => {
      expect(validateCall(track(event, good))).toMatchObject({ ok: true });
      const rejected = validateCall(track(event, bad));
      expect(rejected).toMatchObject({ ok: false, reason: `"${event}" properties do not match the E-commerce Spec` });
      expect(!rejected.ok && rejected.issues.map((i) => i.field)).toContain(field);
    });
  }

  it('accepts NPS scores 0 and 10 and refuses a fractional one', () => {
    expect(validateCall(track('NPS Survey Answered', { score: 0 })).ok).toBe(true);
    expect(validateCall(track('NPS Survey Answered', { score: 7.5 })).ok).toBe(false);
  });
});

describe('validateCall: normalization', () => {
  it('stores the timestamp in UTC and keeps the original offset', () => {
    const result = validateCall(track('Gift Card Redeemed', {}));
    expect(result.ok && result.call).toMatchObject({ timestamp: '2026-11-20T01:15:00.000Z', normalized: { timestampOffset: '+09:00' } });
  });

  it('gives every amount in integer minor units of its ISO 4217 currency', () => {
    const result = validateCall(
      track('Order Completed', { order_id: 'o1', total: 45.1, tax: 3.3, currency: 'eur', products: [{ name: 'Mug', price: 19.99, quantity: 2 }] }),
    );
    expect(result.ok && result.call.normalized?.money).toEqual({ currency: 'EUR', amounts: { total: 4510, tax: 330, 'products.0.price': 1999 } });
    const yen = validateCall(track('Order Completed', { order_id: 'o2', total: 4500, currency: 'JPY' }));
    expect(yen.ok && yen.call.normalized?.money).toEqual({ currency: 'JPY', amounts: { total: 4500 } });
  });

  it('gives order events their value by the order-value rule (total, else revenue), in minor units', () => {
    const order = validateCall(track('Order Completed', { order_id: 'o1', total: 3200, revenue: 2900, currency: 'jpy' }));
    expect(order.ok && order.call.normalized?.orderValue).toEqual({ amountMinor: 3200, currency: 'JPY' });
    const refund = validateCall(track('Order Refunded', { order_id: 'o1', revenue: 12.5, currency: 'EUR' }));
    expect(refund.ok && refund.call.normalized?.orderValue).toEqual({ amountMinor: 1250, currency: 'EUR' });
    const whole = validateCall(track('Order Cancelled', { order_id: 'o1' }));
    expect(whole.ok && whole.call.normalized?.orderValue).toBeUndefined();
    const view = validateCall(track('Product Viewed', { price: 12, currency: 'EUR' }));
    expect(view.ok && view.call.normalized?.orderValue).toBeUndefined();
  });

  it('keeps amounts in major units in the properties, as the Spec has them', () => {
    const result = validateCall(track('Order Completed', { order_id: 'o1', total: 45.1, currency: 'usd' }));
    expect(result.ok && result.call.type === 'track' && result.call.properties).toMatchObject({ total: 45.1, currency: 'USD' });
  });

  it('refuses a currency that is not ISO 4217', () => {
    const result = validateCall(track('Order Completed', { order_id: 'o1', total: 1, currency: 'XXY' }));
    expect(result).toMatchObject({ ok: false, issues: [{ field: 'properties.currency', message: 'expected an ISO 4217 currency code such as USD' }] });
  });

  it('leaves the money of a custom event alone when its currency is not ISO 4217', () => {
    const points = validateCall(track('Reward Redeemed', { total: 300, currency: 'points' }));
    expect(points.ok && points.call.normalized?.money).toBeUndefined();
    const euros = validateCall(track('Gift Card Redeemed', { value: 25, currency: 'EUR' }));
    expect(euros.ok && euros.call.normalized?.money).toEqual({ currency: 'EUR', amounts: { value: 2500 } });
  });

  it('lower-cases emails and checks birthday, time zone and locale traits', () => {
    const result = validateCall({
      ...base,
      type: 'identify',
      traits: { email: ' Ann@Example.COM ', birthday: '1990-05-31T00:00:00Z', timezone: 'europe/paris', locale: 'fr_fr' },
    });
    expect(result.ok && result.call).toMatchObject({
      traits: { email: 'ann@example.com', birthday: '1990-05-31', timezone: 'Europe/Paris', locale: 'fr-FR' },
      normalized: { traits: { birthday: '1990-05-31', timezone: 'Europe/Paris', locale: 'fr-FR' } },
    });
  });

  it('names each bad trait, in the traits or in context.traits', () => {
    const result = validateCall({ ...base, type: 'identify', traits: { timezone: 'Mars/Base' }, context: { traits: { birthday: '1990-02-30' } } });
    expect(result).toMatchObject({ ok: false, reason: 'call does not match the Segment Spec' });
    expect(!result.ok && result.issues.map((i) => i.field).sort()).toEqual(['context.traits.birthday', 'traits.timezone']);
  });

  it('accepts alias, page and screen calls', () => {
    expect(validateCall({ ...base, type: 'alias', previousId: 'anon-1' }).ok).toBe(true);
    expect(validateCall({ ...base, type: 'page', name: 'Home', properties: { url: 'https://shop.example/' } }).ok).toBe(true);
    expect(validateCall({ ...base, type: 'screen', userId: undefined, anonymousId: 'a-1', name: 'Cart' }).ok).toBe(true);
    expect(validateCall({ ...base, type: 'alias' })).toMatchObject({ ok: false, issues: [{ field: 'previousId' }] });
  });

  it('names the missing common fields', () => {
    const result = validateCall({ type: 'track', event: 'Order Completed' });
    expect(!result.ok && result.issues.map((i) => i.field)).toEqual(expect.arrayContaining(['messageId', 'timestamp']));
  });
});
