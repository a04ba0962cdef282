import { describe, expect, it } from 'vitest';
import { signUnsubscribeToken, unsubscribeLinks, verifyUnsubscribeToken } from './unsubscribe-token.ts';

const secret = 'a-test-secret-that-is-long-enough-0123456789';

describe('unsubscribe tokens', () => {
  it('lead back to the address they were made for, lower-cased', () => {
    const token = signUnsubscribeToken('Ada@Example.com', secret);
    expect(verifyUnsubscribeToken(token, secret)).toEqual({ ok: true, email: 'ada@example.com' });
  });

  it('are refused when made with another secret or changed', () => {
    const token = signUnsubscribeToken('ada@example.com', secret);
    expect(verifyUnsubscribeToken(token, 'another-secret-another-secret-another')).toEqual({ ok: false, reason: 'bad-signature' });
    const forged = `${Buffer.from('bob@example.com').toString('base64url')}.${token.split('.')[1] ?? ''}`;
    expect(verifyUnsubscribeToken(forged, secret)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyUnsubscribeToken('not-a-token', secret)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('give marketing mail a mailto and an https List-Unsubscribe with one-click POST', () => {
    const links = unsubscribeLinks({ email: 'ada@example.com', secret, publicUrl: 'https://mail.shop.example.com', mailto: 'unsubscribe@shop.example.com' });
    const token = signUnsubscribeToken('ada@example.com', secret);
    expect(links.url).toBe(`https://mail.shop.example.com/unsubscribe?token=${token}`);
    expect(links.headers).toEqual({
      'List-Unsubscribe': `<mailto:unsubscribe@shop.example.com?subject=unsubscribe%20${token}>, <https://mail.shop.example.com/unsubscribe?token=${token}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });
});
