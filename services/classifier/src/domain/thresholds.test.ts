import { describe, expect, it } from 'vitest';
import { shippedThresholds } from '../../test/thresholds.ts';
import { Thresholds } from './thresholds.ts';

const withCurrencies = (currencies: unknown) => ({ ...shippedThresholds, rfm: { intervalHours: 24, currencies } });

describe('Thresholds: rfm.currencies', () => {
  it('is optional, so the shipped thresholds rank each currency on its own', () => {
    expect(Thresholds.parse(shippedThresholds).rfm.currencies).toBeUndefined();
  });

  it('takes a base currency and rates to it, a base without rates, and the base rate written as 1', () => {
    expect(Thresholds.parse(withCurrencies({ base: 'EUR', rates: { JPY: 0.0062, USD: 0.92 } })).rfm.currencies).toEqual({ base: 'EUR', rates: { JPY: 0.0062, USD: 0.92 } });
    expect(Thresholds.parse(withCurrencies({ base: 'EUR' })).rfm.currencies).toEqual({ base: 'EUR', rates: {} });
    expect(Thresholds.parse(withCurrencies({ base: 'EUR', rates: { EUR: 1 } })).rfm.currencies).toEqual({ base: 'EUR', rates: { EUR: 1 } });
  });

  type Row = [string, unknown, string, RegExp];
  const rows: Row[] = [
    ['a negative rate', { base: 'EUR', rates: { JPY: -0.0062 } }, 'rfm.currencies.rates.JPY', />0/],
    ['a zero rate', { base: 'EUR', rates: { JPY: 0 } }, 'rfm.currencies.rates.JPY', />0/],
    ['a rate written as text', { base: 'EUR', rates: { JPY: '0.0062' } }, 'rfm.currencies.rates.JPY', /expected number/],
    ['an infinite rate', { base: 'EUR', rates: { JPY: Number.POSITIVE_INFINITY } }, 'rfm.currencies.rates.JPY', /expected number/],
    ['a lower-case code', { base: 'EUR', rates: { jpy: 0.0062 } }, 'rfm.currencies.rates.jpy', /ISO 4217 code in capitals/],
    ['a code that is no currency', { base: 'EUR', rates: { XYZ: 1.5 } }, 'rfm.currencies.rates.XYZ', /not an ISO 4217 currency code/],
    ['a base rate other than 1', { base: 'EUR', rates: { EUR: 1.1 } }, 'rfm.currencies.rates.EUR', /base currency: its rate is 1/],
    ['a missing base', { rates: { JPY: 0.0062 } }, 'rfm.currencies.base', /expected string/],
    ['a base that is no currency', { base: 'EURO' }, 'rfm.currencies.base', /ISO 4217 code in capitals/],
    ['a misspelt key', { base: 'EUR', rate: { JPY: 0.0062 } }, 'rfm.currencies', /rate/],
  ];
  it.each(rows.map(([name, currencies, field, message]) => ({ name, currencies, field, message })))('rejects $name, naming $field', ({ currencies, field, message }) => {
    const result = Thresholds.safeParse(withCurrencies(currencies));
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.path.join('.')).toBe(field);
    expect(issue?.message).toMatch(message);
  });
});
