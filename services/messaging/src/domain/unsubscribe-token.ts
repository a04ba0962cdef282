import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Unsubscribe tokens: the address and an HMAC-SHA256 over it, both base64url. Nothing in a
 * link is guessable or enumerable, and no database lookup is needed to check one. The address
 * is lower-cased first, as suppressions are kept.
 */
export function signUnsubscribeToken(email: string, secret: string): string {
  const address = email.trim().toLowerCase();
  return `${Buffer.from(address, 'utf8').toString('base64url')}.${mac(address, secret)}`;
}

export type TokenCheck = { ok: true; email: string } | { ok: false; reason: 'malformed' | 'bad-signature' };

export function verifyUnsubscribeToken(token: string, secret: string): TokenCheck {
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (match === null) return { ok: false, reason: 'malformed' };
  const [, encoded = '', signature = ''] = match;
  const email = Buffer.from(encoded, 'base64url').toString('utf8');
  const expected = Buffer.from(mac(email, secret), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  return { ok: true, email };
}

function mac(address: string, secret: string): string {
  return createHmac('sha256', secret).update(`unsubscribe:${address}`).digest('base64url');
}

export interface UnsubscribeLinks {
  /** `https://…/unsubscribe?token=…`: the page, and the RFC 8058 one-click POST target. */
  url: string;
  /** Headers every marketing message carries (RFC 2369 and RFC 8058). */
  headers: Record<string, string>;
}

/** The unsubscribe link for templates and the `List-Unsubscribe` headers of marketing mail. */
export function unsubscribeLinks(opts: { email: string; secret: string; publicUrl: string; mailto?: string | undefined }): UnsubscribeLinks {
  const token = signUnsubscribeToken(opts.email, opts.secret);
  const url = new URL('unsubscribe', opts.publicUrl.endsWith('/') ? opts.publicUrl : `${opts.publicUrl}/`);
  url.searchParams.set('token', token);
  const targets = [`<${url.href}>`];
  if (opts.mailto !== undefined) targets.unshift(`<mailto:${opts.mailto}?subject=unsubscribe%20${encodeURIComponent(token)}>`);
  return {
    url: url.href,
    headers: { 'List-Unsubscribe': targets.join(', '), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}
