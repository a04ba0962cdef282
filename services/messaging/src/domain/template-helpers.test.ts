import { describe, expect, it } from 'vitest';
import { createTemplateEngine } from './template-engine.ts';

function render(source: string, data: Record<string, unknown>, opts: { locale: string; timeZone?: string; campaignId?: string }): string {
  const result = createTemplateEngine().compile({ subject: 'x', html: '', text: source }).render(data, opts);
  if (!result.ok) throw new Error(result.error);
  return result.content.text;
}

describe('template helpers', () => {
  it('prints money only in the currency it came with: an amount and its currency, or a money value', () => {
    expect(render('{{money total currency}}', { total: 3200, currency: 'JPY' }, { locale: 'ja-JP' })).toBe('￥3,200');
    expect(render('{{money price}}', { price: { amountMinor: 1999, currency: 'USD' } }, { locale: 'en-US' })).toBe('$19.99');
    expect(render('{{money price}}', { price: { amountMinor: 3200, currency: 'JPY' } }, { locale: 'en' })).toBe('¥3,200');
    expect(render('{{money price}}', { price: { amountMinor: 1234, currency: 'KWD' } }, { locale: 'en' })).toBe('KWD\u00a01.234');
  });

  it('prints nothing for an amount without its currency when sending, and refuses it in the template check', () => {
    expect(render('[{{money price currency}}]', { price: 29 }, { locale: 'en' })).toBe('[]');
    expect(render('[{{money price}}]', { price: { amountMinor: 29 } }, { locale: 'en' })).toBe('[]');
    const strict = createTemplateEngine({ strict: true }).compile({ subject: 'x', html: '', text: '{{money price currency}}' }).render({ price: 29, currency: undefined }, { locale: 'en' });
    expect(strict).toMatchObject({ ok: false, error: expect.stringMatching(/money: the amount has no currency/) });
  });

  it('shows dates in the customer’s time zone and language', () => {
    const at = '2026-11-23T23:30:00Z';
    expect(render('{{date at}}', { at }, { locale: 'en-US', timeZone: 'America/New_York' })).toBe('November 23, 2026');
    expect(render('{{date at}}', { at }, { locale: 'ja-JP', timeZone: 'Asia/Tokyo' })).toBe('2026年11月24日');
    expect(render('{{date at "short" time=true}}', { at }, { locale: 'en-GB', timeZone: 'Europe/London' })).toBe('23/11/2026, 23:30');
  });

  it('shows a calendar day (a coupon’s last day) as that day, in any time zone', () => {
    expect(render('{{date day}}', { day: '2027-07-01' }, { locale: 'en-US', timeZone: 'America/Los_Angeles' })).toBe('July 1, 2027');
    expect(render('{{date day}}', { day: '2027-07-01' }, { locale: 'ja-JP', timeZone: 'Pacific/Kiritimati' })).toBe('2027年7月1日');
    expect(render('{{date day "short" time=true}}', { day: '2027-07-01' }, { locale: 'en-GB', timeZone: 'America/New_York' })).toBe('01/07/2027');
  });

  it('falls back to UTC for an unknown time zone instead of failing the message', () => {
    expect(render('{{date at}}', { at: '2026-11-23T23:30:00Z' }, { locale: 'en', timeZone: 'Mars/Olympus' })).toBe('November 23, 2026');
  });

  it('picks the plural form the language needs and writes the count in its digits', () => {
    const source = '{{plural n one="# item" other="# items"}}';
    expect(render(source, { n: 1 }, { locale: 'en' })).toBe('1 item');
    expect(render(source, { n: 1200 }, { locale: 'en' })).toBe('1,200 items');
    expect(render('{{plural n one="# produkt" few="# produkty" many="# produktów" other="# produktu"}}', { n: 5 }, { locale: 'pl' })).toBe('5 produktów');
  });

  it('adds tracking parameters to links, keeping ones already there, and drops non-http links', () => {
    expect(render('{{{trackLink url}}}', { url: 'https://shop.example.com/p?id=1' }, { locale: 'en', campaignId: 'win-back' })).toBe(
      'https://shop.example.com/p?id=1&utm_source=lifecycle&utm_medium=email&utm_campaign=win-back',
    );
    expect(render('{{{trackLink url}}}', { url: 'https://shop.example.com/?utm_source=news' }, { locale: 'en', campaignId: 'c' })).toBe(
      'https://shop.example.com/?utm_source=news&utm_medium=email&utm_campaign=c',
    );
    expect(render('{{{trackLink url}}}', { url: 'javascript:alert(1)' }, { locale: 'en' })).toBe('');
  });

  it('fails a render with a clear message when a helper gets the wrong kind of value', () => {
    const result = createTemplateEngine().compile({ subject: 'x', html: '', text: '{{date at}}' }).render({ at: 'yesterday' }, { locale: 'en' });
    expect(result).toEqual({ ok: false, part: 'text', error: expect.stringContaining('date: expected an ISO date-time') });
  });

  it('picks a text by the language it is given, else the message’s, else English', () => {
    const source = '{{byLanguage lang en="Manage preferences" ja="配信設定"}}';
    expect(render(source, { lang: 'ja' }, { locale: 'en' })).toBe('配信設定');
    expect(render(source, { lang: 'en' }, { locale: 'ja-JP' })).toBe('Manage preferences');
    expect(render(source, {}, { locale: 'ja-JP' })).toBe('配信設定');
    expect(render(source, { lang: 'de' }, { locale: 'de-DE' })).toBe('Manage preferences');
  });
});

