import { describe, expect, it } from 'vitest';
import { confirmLink, newAddressId, preferencesLink, signLegacyToken, signToken, unsubscribeLinks, verifyToken } from './unsubscribe-token.ts';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const rotated = 'the-next-secret-after-rotation-0123456789ab';
const id = newAddressId(() => Buffer.alloc(16, 7));
const accept = { acceptLegacy: true };

describe('unsubscribe tokens', () => {
  it('carry a random id and a MAC, nothing of the address', () => {
    const token = signToken(id, secret);
    expect(token).toMatch(/^v2\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(verifyToken(token, { current: secret }, accept)).toEqual({ ok: true, kind: 'id', id, secret: 'current' });
    const decoded = token.split('.').map((part) => Buffer.from(part, 'base64url').toString('latin1')).join(' ');
    expect(decoded).not.toContain('@');
  });

  it('are refused when made with another secret, for another purpose, or changed', () => {
    const token = signToken(id, secret);
    expect(verifyToken(token, { current: 'another-secret-another-secret-another' }, accept)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(token, { current: secret }, { ...accept, purpose: 'preferences' })).toEqual({ ok: false, reason: 'bad-signature' });
    const other = newAddressId(() => Buffer.alloc(16, 8));
    expect(verifyToken(`v2.${other}.${token.split('.')[2] ?? ''}`, { current: secret }, accept)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken('not-a-token', { current: secret }, accept)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('keep working through a rotation: signed with the current secret, checked against the current and the previous', () => {
    const before = signToken(id, secret);
    const after = signToken(id, rotated);
    const secrets = { current: rotated, previous: secret };
    expect(verifyToken(after, secrets, accept)).toMatchObject({ ok: true, secret: 'current' });
    expect(verifyToken(before, secrets, accept)).toMatchObject({ ok: true, id, secret: 'previous' });
    // Once the previous secret is dropped, links signed with it stop working.
    expect(verifyToken(before, { current: rotated }, accept)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('accept the address-bearing tokens of mail sent before, when signed and while legacy tokens are accepted', () => {
    const legacy = signLegacyToken('Ada@Example.com', secret);
    expect(verifyToken(legacy, { current: rotated, previous: secret }, accept)).toEqual({ ok: true, kind: 'legacy', email: 'ada@example.com', secret: 'previous' });
    expect(verifyToken(legacy, { current: secret }, { acceptLegacy: false })).toEqual({ ok: false, reason: 'legacy-refused' });
    const forged = `${Buffer.from('bob@example.com').toString('base64url')}.${legacy.split('.')[1] ?? ''}`;
    expect(verifyToken(forged, { current: secret }, accept)).toEqual({ ok: false, reason: 'bad-signature' });
    // A legacy MAC never passes as a v2 one, nor the other way round.
    expect(verifyToken(`v2.${id}.${legacy.split('.')[1] ?? ''}`, { current: secret }, accept)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('give marketing mail a mailto and an https List-Unsubscribe with one-click POST', () => {
    const token = signToken(id, secret);
    const links = unsubscribeLinks({ token, publicUrl: 'https://mail.shop.example.com', mailto: 'unsubscribe@shop.example.com' });
    expect(links.url).toBe(`https://mail.shop.example.com/unsubscribe?token=${token}`);
    expect(links.headers).toEqual({
      'List-Unsubscribe': `<mailto:unsubscribe@shop.example.com?subject=unsubscribe%20${token}>, <https://mail.shop.example.com/unsubscribe?token=${token}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });

  it('open only the page they were made for: an unsubscribe token is no preference or confirmation token', () => {
    const id = newAddressId(() => Buffer.alloc(16, 7));
    const secrets = { current: 'x'.repeat(32) };
    const preferences = signToken(id, secrets.current, 'preferences');
    expect(verifyToken(preferences, secrets, { purpose: 'preferences', acceptLegacy: true })).toMatchObject({ ok: true, id });
    expect(verifyToken(preferences, secrets, { purpose: 'unsubscribe', acceptLegacy: true })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(signToken(id, secrets.current), secrets, { purpose: 'confirm', acceptLegacy: true })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('link to the preference and confirmation pages in the mail’s language', () => {
    expect(preferencesLink({ token: 'v2.a.b', publicUrl: 'https://mail.example.com', locale: 'ja-JP' })).toBe('https://mail.example.com/preferences/v2.a.b?lang=ja');
    expect(confirmLink({ token: 'v2.a.b', publicUrl: 'https://mail.example.com/base/' })).toBe('https://mail.example.com/base/confirm/v2.a.b');
  });
});

