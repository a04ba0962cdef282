import { describe, expect, it } from 'vitest';
import { Campaign } from './campaign.ts';
import { assignVariant } from './variants.ts';

const customers = Array.from({ length: 10_000 }, (_, i) => `customer-${i}`);

function abTest(id: string, variants: { id: string; weight: number; template?: string }[]): Campaign {
  return Campaign.parse({ id, name: 'Cart abandonment', template: 'cart-abandonment', category: 'marketing', trigger: { event: 'Checkout Started' }, variants });
}

function share(campaign: Campaign, variant: string): number {
  return customers.filter((c) => assignVariant(campaign, c).variant === variant).length / customers.length;
}

const even = abTest('cart-abandonment', [
  { id: 'a', weight: 50 },
  { id: 'b', weight: 50, template: 'other' },
]);

describe('A/B variants', () => {
  it('gives the same customer the same variant every time, also after the campaign file is reloaded', () => {
    const reloaded = abTest('cart-abandonment', [
      { id: 'a', weight: 50 },
      { id: 'b', weight: 50, template: 'other' },
    ]);
    for (const customer of customers.slice(0, 200)) {
      const first = assignVariant(even, customer);
      expect(assignVariant(even, customer)).toEqual(first);
      expect(assignVariant(reloaded, customer)).toEqual(first);
    }
  });

  it('sends each variant with its own template, or the campaign’s', () => {
    const seen = new Map(customers.slice(0, 100).map((c) => [assignVariant(even, c).variant, assignVariant(even, c).template]));
    expect(Object.fromEntries(seen)).toEqual({ a: 'cart-abandonment', b: 'other' });
  });

  it('splits 10,000 customers 20/80 within 2 percentage points', () => {
    const campaign = abTest('cart-abandonment', [
      { id: 'a', weight: 20 },
      { id: 'b', weight: 80 },
    ]);
    expect(share(campaign, 'a')).toBeGreaterThanOrEqual(0.18);
    expect(share(campaign, 'a')).toBeLessThanOrEqual(0.22);
    expect(share(campaign, 'a') + share(campaign, 'b')).toBe(1);
  });

  it('splits by weights that need not add up to 100 (1:1:2)', () => {
    const campaign = abTest('cart-abandonment', [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 1 },
      { id: 'c', weight: 2 },
    ]);
    expect(Math.abs(share(campaign, 'a') - 0.25)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(share(campaign, 'b') - 0.25)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(share(campaign, 'c') - 0.5)).toBeLessThanOrEqual(0.02);
  });

  it('never chooses a variant of weight 0', () => {
    const paused = abTest('cart-abandonment', [
      { id: 'a', weight: 0 },
      { id: 'b', weight: 50 },
      { id: 'c', weight: 50 },
    ]);
    expect(share(paused, 'a')).toBe(0);
    const lastPaused = abTest('cart-abandonment', [
      { id: 'a', weight: 50 },
      { id: 'b', weight: 0 },
    ]);
    expect(share(lastPaused, 'a')).toBe(1);
  });

  it('splits each campaign independently, so one test’s group is not the next test’s', () => {
    const other = abTest('win-back', [
      { id: 'a', weight: 50 },
      { id: 'b', weight: 50 },
    ]);
    const inBothA = customers.filter((c) => assignVariant(even, c).variant === 'a' && assignVariant(other, c).variant === 'a').length / customers.length;
    expect(Math.abs(inBothA - 0.25)).toBeLessThanOrEqual(0.02);
  });

  it('gives no variant and the campaign’s template when the campaign runs no test', () => {
    const plain = Campaign.parse({ id: 'welcome', name: 'Welcome', template: 'welcome', category: 'marketing', trigger: { event: 'Signed Up' } });
    expect(assignVariant(plain, 'customer-1')).toEqual({ variant: null, template: 'welcome' });
  });
});
