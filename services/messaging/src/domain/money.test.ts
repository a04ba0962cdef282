import { describe, expect, it } from 'vitest';
import { formatMoney } from './money.ts';

describe('formatMoney', () => {
  it('formats major units with the currency’s own decimals', () => {
    expect(formatMoney(1234.5, 'USD', 'en-US')).toBe('$1,234.50');
    expect(formatMoney(1234.5, 'eur', 'de-DE')).toBe('1.234,50\u00a0€');
    expect(formatMoney(1500, 'JPY', 'en')).toBe('¥1,500');
  });

  it('falls back to English for a malformed locale instead of failing the message', () => {
    expect(formatMoney(5, 'USD', 'not a locale!')).toBe('$5.00');
  });

  it('refuses what is not an amount or not a currency code', () => {
    expect(() => formatMoney(Number.NaN, 'USD', 'en')).toThrow(/not an amount/);
    expect(() => formatMoney(5, 'dollars', 'en')).toThrow(/ISO 4217/);
  });
});
