import { describe, expect, it } from 'vitest';
import { normalizeBirthday, normalizeCurrency, normalizeLocale, normalizeTimeZone, normalizeTimestamp, toMinorUnits } from './normalize.ts';

describe('normalizations', () => {
  it('turns a timestamp into UTC and keeps the offset the client wrote', () => {
    expect(normalizeTimestamp('2026-11-20T10:15:00+09:00')).toEqual({ ok: true, value: { utc: '2026-11-20T01:15:00.000Z', offset: '+09:00' } });
    expect(normalizeTimestamp('2026-11-20T10:15:00.5Z')).toEqual({ ok: true, value: { utc: '2026-11-20T10:15:00.500Z', offset: 'Z' } });
    expect(normalizeTimestamp('yesterday').ok).toBe(false);
  });

  it('knows how many minor units each ISO 4217 currency has and refuses made-up codes', () => {
    expect(normalizeCurrency('usd')).toEqual({ ok: true, value: { code: 'USD', exponent: 2 } });
    expect(normalizeCurrency('JPY')).toEqual({ ok: true, value: { code: 'JPY', exponent: 0 } });
    expect(normalizeCurrency('BHD')).toEqual({ ok: true, value: { code: 'BHD', exponent: 3 } });
    expect(normalizeCurrency('XYZ')).toMatchObject({ ok: false, message: 'expected an ISO 4217 currency code such as USD' });
    expect(normalizeCurrency('dollars').ok).toBe(false);
  });

  it('converts money to integer minor units without floating-point drift', () => {
    expect(toMinorUnits(19.99, 2)).toEqual({ ok: true, value: 1999 });
    expect(toMinorUnits(0.1 + 0.2, 2)).toEqual({ ok: true, value: 30 });
    expect(toMinorUnits(1234, 0)).toEqual({ ok: true, value: 1234 });
    expect(toMinorUnits(1.2345, 3)).toEqual({ ok: true, value: 1235 });
    expect(toMinorUnits(1e300, 2).ok).toBe(false);
  });

  it('accepts a birthday as a date or a date-time and refuses impossible dates', () => {
    expect(normalizeBirthday('1990-05-31')).toEqual({ ok: true, value: '1990-05-31' });
    expect(normalizeBirthday('1990-05-31T00:00:00.000Z')).toEqual({ ok: true, value: '1990-05-31' });
    expect(normalizeBirthday('1990-02-30')).toMatchObject({ ok: false, message: 'not a calendar date' });
    expect(normalizeBirthday('31/05/1990').ok).toBe(false);
    expect(normalizeBirthday(19900531).ok).toBe(false);
  });

  it('accepts IANA time zones in their canonical spelling and refuses others', () => {
    expect(normalizeTimeZone('Europe/Paris')).toEqual({ ok: true, value: 'Europe/Paris' });
    expect(normalizeTimeZone('asia/tokyo')).toEqual({ ok: true, value: 'Asia/Tokyo' });
    expect(normalizeTimeZone('Mars/Olympus')).toMatchObject({ ok: false, message: 'expected an IANA time zone such as Europe/Paris' });
    expect(normalizeTimeZone('+02:00').ok).toBe(false);
  });

  it('canonicalizes locales and refuses malformed ones', () => {
    expect(normalizeLocale('en_us')).toEqual({ ok: true, value: 'en-US' });
    expect(normalizeLocale('fr')).toEqual({ ok: true, value: 'fr' });
    expect(normalizeLocale('not a locale').ok).toBe(false);
  });
});
