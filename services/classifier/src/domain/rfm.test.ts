import { describe, expect, it } from 'vitest';
import { scoreRfm, segmentOf, type RfmInput } from './rfm.ts';

const now = '2026-06-01T00:00:00.000Z';
const daysAgo = (n: number): string => new Date(Date.parse(now) - n * 86_400_000).toISOString();

describe('scoreRfm', () => {
  const base: RfmInput[] = Array.from({ length: 10 }, (_, i) => ({ customerId: `c${i}`, lastOrderAt: daysAgo(i * 30), orders: 10 - i, revenue: (10 - i) * 50 }));

  it('gives the most recent, frequent, big spenders 5s and calls them champions', () => {
    const scores = scoreRfm(base, now);
    expect(scores[0]).toEqual({ customerId: 'c0', recency: 5, frequency: 5, monetary: 5, segment: 'champions' });
    expect(scores[9]).toEqual({ customerId: 'c9', recency: 1, frequency: 1, monetary: 1, segment: 'hibernating' });
  });

  it('does not depend on the order of the customer list', () => {
    const forward = scoreRfm(base, now);
    const backward = scoreRfm([...base].reverse(), now).reverse();
    expect(backward).toEqual(forward);
  });

  it('scores a lone customer as the best of their base', () => {
    expect(scoreRfm([{ customerId: 'solo', lastOrderAt: daysAgo(3), orders: 1, revenue: 5 }], now)[0]).toMatchObject({ recency: 5, frequency: 5, monetary: 5 });
  });

  it('gives equal values equal scores', () => {
    const same = scoreRfm([0, 1, 2].map((i) => ({ customerId: `s${i}`, lastOrderAt: daysAgo(5), orders: 2, revenue: 10 })), now);
    expect(new Set(same.map((s) => `${s.recency}${s.frequency}${s.monetary}`)).size).toBe(1);
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
