import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEml, outboxFileName } from '@lifecycle/messaging';
import { couponCodeIn, outboxCouponCodes, plainText } from './mail-coupons.ts';

const dir = mkdtempSync(join(tmpdir(), 'mail-coupons-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function eml(dedupeKey: string, text: string): string {
  return buildEml(
    {
      from: { email: 'shop@oakandember.example.com', name: 'Oak & Ember' },
      to: { email: 'demo-00001@example.com' },
      subject: 'Happy birthday',
      text,
      html: `<p>${text}</p>`,
      categories: ['birthday', 'marketing'],
      tags: { messageId: 'm-1', dedupeKey, campaignId: 'birthday', customerId: 'demo-00001' },
    },
    { messageId: 'x@oakandember.example.com', date: new Date('2027-03-01T10:00:00Z'), boundary: '=_test' },
  );
}

describe('coupon codes in the demo customers’ mail', () => {
  it('finds the code a template sets apart on a line of its own, in English and in Japanese mail', () => {
    const english = 'Happy birthday, Ava!\n\nHere is a small gift from us: 15% off your next order.\n\n    BDAY-7K2M9XQ4RT3C\n\nEnter the code at checkout within 30 days.\nhttps://oakandember.example.com/?utm_source=x\n\nUnsubscribe: https://x.example/u?t=abc';
    expect(couponCodeIn(plainText(eml('k1', english)))).toBe('BDAY-7K2M9XQ4RT3C');
    const japanese = 'お誕生日おめでとうございます。ささやかではございますが、次回のご注文に使える15%オフのクーポンをお贈りします。とても長い行が quoted-printable で折り返されても読めること。\n\n    BACK-0A1B2C3D4E5F\n\n有効期限は30日間です。';
    expect(couponCodeIn(plainText(eml('k2', japanese)))).toBe('BACK-0A1B2C3D4E5F');
    expect(couponCodeIn('Happy birthday!\nBDAY-1234ABCDEF99 is yours', 'BDAY-')).toBe('BDAY-1234ABCDEF99');
    expect(couponCodeIn('No code in this mail.\nOak & Ember')).toBeNull();
  });

  it('reads the code of a sent mail from the outbox file of its dedupe key, and nothing for a mail not written', async () => {
    writeFileSync(join(dir, outboxFileName('birthday:demo-00001:2027')), eml('birthday:demo-00001:2027', 'Your code:\n\n    YEAR-ZZZZ9999AAAA\n'));
    const coupons = outboxCouponCodes(dir);
    expect(await coupons.read('birthday:demo-00001:2027')).toBe('YEAR-ZZZZ9999AAAA');
    expect(coupons.codeOf('birthday:demo-00001:2027')).toBe('YEAR-ZZZZ9999AAAA');
    expect(await coupons.read('birthday:demo-00002:2027')).toBeUndefined();
    expect(coupons.count()).toBe(1);
  });
});
