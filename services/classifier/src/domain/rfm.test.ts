import { describe, expect, it } from 'vitest';
import { scoreRfm, segmentOf, type CurrencyRates, type RfmInput } from './rfm.ts';
import { customer, daysAgo, eur, jpy, monetaryExamples, now, tenCustomers as base } from './rfm-examples.ts';

const monetaryOf = (customers: RfmInput[], rates?: CurrencyRates) =>
  Object.fromEntries(scoreRfm(customers, now, rates).map((s) => [s.customerId, `${s.monetary} ${s.monetaryCurrency}`]));

describe('scoreRfm', () => {
  it('gives the most recent, frequent, big spenders 5s and calls them champions', () => {
    const scores = scoreRfm(base, now);
    expect(scores[0]).toEqual({ customerId: 'c0', recency: 5, frequency: 5, monetary: 5, monetaryCurrency: 'EUR', segment: 'champions' });
    expect(scores[9]).toEqual({ customerId: 'c9', recency: 1, frequency: 1, monetary: 1, monetaryCurrency: 'EUR', segment: 'hibernating' });
  });

  it('does not depend on the order of the customer list', () => {
    const mixed = [...base, jpy('j1', 5_000), jpy('j2', 90_000), customer('both', [{ currency: 'JPY', revenue: 3_000 }, { currency: 'EUR', revenue: 20 }])];
    for (const rates of [undefined, { base: 'EUR', rates: { JPY: 0.0062 } }]) {
      const forward = scoreRfm(mixed, now, rates);
      const backward = scoreRfm([...mixed].reverse(), now, rates).reverse();
      expect(backward).toEqual(forward);
    }
  });

  it('scores a lone customer as the best of their base', () => {
    expect(scoreRfm([eur('solo', 5)], now)[0]).toMatchObject({ recency: 5, frequency: 5, monetary: 5 });
  });

  it('gives equal values equal scores', () => {
    const same = scoreRfm([0, 1, 2].map((i) => customer(`s${i}`, [{ currency: 'EUR', revenue: 10, orders: 2, lastOrderAt: daysAgo(5) }])), now);
    expect(new Set(same.map((s) => `${s.recency}${s.frequency}${s.monetary}`)).size).toBe(1);
  });

  it('scores a customer with no spend to rank at the bottom of monetary', () => {
    expect(scoreRfm([eur('a', 10), { customerId: 'none', lastOrderAt: daysAgo(1), orders: 1, spend: [] }], now)[1]).toMatchObject({ monetary: 1, monetaryCurrency: null });
  });
});

describe('monetary scores across currencies', () => {
  it.each(monetaryExamples)('$name', ({ customers, rates, expected }) => {
    expect(monetaryOf(customers, rates)).toMatchObject(expected);
  });

  it('leaves recency and frequency ranked over the whole base, whatever the currency', () => {
    const scores = scoreRfm([eur('e', 40), customer('j', [{ currency: 'JPY', revenue: 5_000, orders: 3, lastOrderAt: daysAgo(1) }])], now);
    expect(scores.map((s) => [s.customerId, s.recency, s.frequency])).toEqual([
      ['e', 3, 3],
      ['j', 5, 5],
    ]);
  });
});

describe('segmentOf', () => {
  it.each([
    [5, 5, 5, 'champions'],
    [3, 4, 2, 'loyal'],
    [5, 1, 1, 'potential_loyalists'],
    [2, 4, 4, 'at_risk'],
    [1, 1, 3, 'hibernating'],
    [3, 2, 2, 'needs_attention'],
  ])('R%i F%i M%i is %s', (r, f, m, segment) => {
    expect(segmentOf(r, f, m)).toBe(segment);
  });
});
