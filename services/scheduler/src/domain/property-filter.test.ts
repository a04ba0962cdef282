import { describe, expect, it } from 'vitest';
import { Campaign, PropertyFilter } from './campaign.ts';
import { matchesFilter, propertyAt } from './property-filter.ts';

/** A `where:` as a marketer writes it in a campaign file. */
const where = (filter: unknown) => PropertyFilter.parse(filter);

describe('trigger filters (`where:`)', () => {
  it('lets every event through when there is no filter', () => {
    expect(matchesFilter(undefined, {})).toBe(true);
    expect(matchesFilter(where({}), { total: 1 })).toBe(true);
  });

  it('compares a plain value for equality', () => {
    expect(matchesFilter(where({ currency: 'EUR' }), { currency: 'EUR' })).toBe(true);
    expect(matchesFilter(where({ currency: 'EUR' }), { currency: 'USD' })).toBe(false);
    expect(matchesFilter(where({ currency: 'EUR' }), {})).toBe(false);
    expect(matchesFilter(where({ quantity: 1 }), { quantity: 1 })).toBe(true);
    expect(matchesFilter(where({ quantity: 1 }), { quantity: '1' })).toBe(false);
    expect(matchesFilter(where({ gift: true }), { gift: true })).toBe(true);
    expect(matchesFilter(where({ gift: true }), { gift: 'true' })).toBe(false);
  });

  it('applies numeric bounds inclusively or exclusively as written', () => {
    const atLeast100 = where({ total: { gte: 100 } });
    expect(matchesFilter(atLeast100, { total: 100 })).toBe(true);
    expect(matchesFilter(atLeast100, { total: 99 })).toBe(false);
    expect(matchesFilter(where({ total: { gt: 100 } }), { total: 100 })).toBe(false);
    expect(matchesFilter(where({ total: { lt: 20 } }), { total: 19.99 })).toBe(true);
    expect(matchesFilter(where({ total: { lte: 20 } }), { total: 20 })).toBe(true);
    const band = where({ total: { gte: 50, lt: 100 } });
    expect([49, 50, 99, 100].map((total) => matchesFilter(band, { total }))).toEqual([false, true, true, false]);
  });

  it('refuses a bound on a value that is not a number', () => {
    const atLeast100 = where({ total: { gte: 100 } });
    expect(matchesFilter(atLeast100, { total: '150' })).toBe(false);
    expect(matchesFilter(atLeast100, { total: null })).toBe(false);
    expect(matchesFilter(atLeast100, {})).toBe(false);
  });

  it('matches eq, ne and in', () => {
    expect(matchesFilter(where({ currency: { eq: 'EUR' } }), { currency: 'EUR' })).toBe(true);
    expect(matchesFilter(where({ currency: { ne: 'EUR' } }), { currency: 'EUR' })).toBe(false);
    expect(matchesFilter(where({ currency: { ne: 'EUR' } }), { currency: 'USD' })).toBe(true);
    expect(matchesFilter(where({ currency: { ne: 'EUR' } }), {})).toBe(true);
    const dach = where({ country: { in: ['DE', 'AT', 'CH'] } });
    expect(matchesFilter(dach, { country: 'AT' })).toBe(true);
    expect(matchesFilter(dach, { country: 'FR' })).toBe(false);
    expect(matchesFilter(dach, { country: ['DE'] })).toBe(false);
  });

  it('tells present from missing, counting null as missing', () => {
    const hasCoupon = where({ coupon: { exists: true } });
    const noCoupon = where({ coupon: { exists: false } });
    expect(matchesFilter(hasCoupon, { coupon: 'SPRING' })).toBe(true);
    expect(matchesFilter(hasCoupon, { coupon: null })).toBe(false);
    expect(matchesFilter(noCoupon, {})).toBe(true);
    expect(matchesFilter(noCoupon, { coupon: null })).toBe(true);
    expect(matchesFilter(noCoupon, { coupon: 'SPRING' })).toBe(false);
  });

  it('needs every comparison to pass', () => {
    const bigEuro = where({ total: { gte: 100 }, currency: 'EUR' });
    expect(matchesFilter(bigEuro, { total: 120, currency: 'EUR' })).toBe(true);
    expect(matchesFilter(bigEuro, { total: 120, currency: 'USD' })).toBe(false);
    expect(matchesFilter(bigEuro, { total: 80, currency: 'EUR' })).toBe(false);
  });

  it('reads nested properties by dotted path', () => {
    const shoes = where({ 'products.0.category': 'shoes', 'shipping.address.country': { in: ['DE'] } });
    expect(matchesFilter(shoes, { products: [{ category: 'shoes' }], shipping: { address: { country: 'DE' } } })).toBe(true);
    expect(matchesFilter(shoes, { products: [{ category: 'hats' }], shipping: { address: { country: 'DE' } } })).toBe(false);
    expect(matchesFilter(shoes, { products: [], shipping: { address: { country: 'DE' } } })).toBe(false);
  });

  it('sees only the event’s own properties, never inherited ones', () => {
    expect(propertyAt({}, 'constructor')).toBeUndefined();
    expect(propertyAt({ a: 'text' }, 'a.length')).toBeUndefined();
    expect(matchesFilter(where({ toString: { exists: true } }), {})).toBe(false);
  });

  it('is what a campaign’s trigger filter is parsed into', () => {
    const campaign = Campaign.parse({
      id: 'big-orders',
      name: 'Big orders',
      template: 'big-orders',
      category: 'marketing',
      trigger: { event: 'Order Completed', where: { total: { gte: 100 }, currency: { in: ['EUR', 'USD'] } } },
    });
    const filter = 'event' in campaign.trigger ? campaign.trigger.where : undefined;
    expect(matchesFilter(filter, { total: 100, currency: 'USD' })).toBe(true);
    expect(matchesFilter(filter, { total: 100, currency: 'GBP' })).toBe(false);
  });

  it('refuses a comparison without any operator when the campaign file is read', () => {
    expect(PropertyFilter.safeParse({ total: {} }).success).toBe(false);
    expect(PropertyFilter.safeParse({ total: { atLeast: 100 } }).success).toBe(false);
  });
});
