import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Tokens in unsubscribe (and, later, preference) links: `v2.<id>.<mac>`. The id is random and
 * stands for an address in `messaging.address_ids`; the MAC is HMAC-SHA256 over the purpose and
 * the id. A token says nothing about the address, a forged one is refused before any database
 * lookup, and the secret can be rotated: links are signed with the current secret and checked
 * against the current and the previous one.
 *
 * Mail sent before these tokens carries legacy ones, `<base64url address>.<mac>`: they still
 * work (signed with either secret) unless legacy tokens are refused, so old links keep their
 * promise; they reveal the address, which is why they are no longer issued.
 */

/** What a link is for: a token of one purpose opens no page of another. */
export type TokenPurpose = 'unsubscribe' | 'preferences' | 'confirm';

/** The secret links are signed with, and the one before it while a rotation is under way. */
export interface TokenSecrets {
  current: string;
  previous?: string | undefined;
}

export type SecretUsed = 'current' | 'previous';

export type TokenCheck =
  | { ok: true; kind: 'id'; id: string; secret: SecretUsed }
  | { ok: true; kind: 'legacy'; email: string; secret: SecretUsed }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'legacy-refused' };

const VERSION = 'v2';
/** 16 random bytes, base64url. */
const idPattern = /^[A-Za-z0-9_-]{22}$/;
const macPattern = '[A-Za-z0-9_-]{43}';

/** A new random id for an address (`random` gives 16 bytes). */
export function newAddressId(random: (size: number) => Buffer): string {
  return random(16).toString('base64url');
}

export function signToken(id: string, secret: string, purpose: TokenPurpose = 'unsubscribe'): string {
  if (!idPattern.test(id)) throw new Error('an address id is 22 base64url characters');
  return `${VERSION}.${id}.${mac(`${purpose}-id:${id}`, secret)}`;
}

/** Which id (or, for a legacy token, which address) a token stands for, if a known secret signed it. */
export function verifyToken(token: string, secrets: TokenSecrets, opts: { purpose?: TokenPurpose; acceptLegacy: boolean }): TokenCheck {
  const purpose = opts.purpose ?? 'unsubscribe';
  const current = new RegExp(`^${VERSION}\\.([A-Za-z0-9_-]{22})\\.(${macPattern})$`).exec(token);
  if (current !== null) {
    const [, id = '', signature = ''] = current;
    const secret = signedBy(`${purpose}-id:${id}`, signature, secrets);
    return secret === null ? { ok: false, reason: 'bad-signature' } : { ok: true, kind: 'id', id, secret };
  }
  const legacy = purpose === 'unsubscribe' ? new RegExp(`^([A-Za-z0-9_-]+)\\.(${macPattern})$`).exec(token) : null;
  if (legacy === null) return { ok: false, reason: 'malformed' };
  const [, encoded = '', signature = ''] = legacy;
  const email = Buffer.from(encoded, 'base64url').toString('utf8');
  const secret = signedBy(`unsubscribe:${email}`, signature, secrets);
  if (secret === null) return { ok: false, reason: 'bad-signature' };
  // Checked after the signature, so a refused legacy link is told apart from a forged one.
  if (!opts.acceptLegacy) return { ok: false, reason: 'legacy-refused' };
  return { ok: true, kind: 'legacy', email, secret };
}

/** The legacy token, as mail sent before v2 carries it; only for tests of the transition. */
export function signLegacyToken(email: string, secret: string): string {
  const address = email.trim().toLowerCase();
  return `${Buffer.from(address, 'utf8').toString('base64url')}.${mac(`unsubscribe:${address}`, secret)}`;
}

function signedBy(message: string, signature: string, secrets: TokenSecrets): SecretUsed | null {
  if (matches(mac(message, secrets.current), signature)) return 'current';
  if (secrets.previous !== undefined && matches(mac(message, secrets.previous), signature)) return 'previous';
  return null;
}

function matches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function mac(message: string, secret: string): string {
  return createHmac('sha256', secret).update(message).digest('base64url');
}

export interface UnsubscribeLinks {
  /** `https://…/unsubscribe?token=…`: the page, and the RFC 8058 one-click POST target. */
  url: string;
  /** Headers every marketing message carries (RFC 2369 and RFC 8058). */
  headers: Record<string, string>;
}

/** The unsubscribe link for templates and the `List-Unsubscribe` headers of marketing mail. */
export function unsubscribeLinks(opts: { token: string; publicUrl: string; mailto?: string | undefined }): UnsubscribeLinks {
  const url = new URL('unsubscribe', opts.publicUrl.endsWith('/') ? opts.publicUrl : `${opts.publicUrl}/`);
  url.searchParams.set('token', opts.token);
  const targets = [`<${url.href}>`];
  if (opts.mailto !== undefined) targets.unshift(`<mailto:${opts.mailto}?subject=unsubscribe%20${encodeURIComponent(opts.token)}>`);
  return {
    url: url.href,
    headers: { 'List-Unsubscribe': targets.join(', '), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}

/**
 * A page of this service for the address a token stands for: `<publicUrl>/<page>/<token>`, with
 * `?lang=` the language of the mail that carries it (`ja-JP` → `ja`), so the page speaks it too.
 */
function pageLink(page: string, opts: { token: string; publicUrl: string; locale?: string | undefined }): string {
  const url = new URL(`${page}/${encodeURIComponent(opts.token)}`, opts.publicUrl.endsWith('/') ? opts.publicUrl : `${opts.publicUrl}/`);
  const lang = opts.locale?.toLowerCase().split(/[-_]/)[0];
  if (lang !== undefined && /^[a-z]{2,3}$/.test(lang)) url.searchParams.set('lang', lang);
  return url.href;
}

/** The preference center link of marketing mail (`preferencesUrl`). */
export function preferencesLink(opts: { token: string; publicUrl: string; locale?: string | undefined }): string {
  return pageLink('preferences', opts);
}

/** The double opt-in confirmation link (`confirmUrl`). */
export function confirmLink(opts: { token: string; publicUrl: string; locale?: string | undefined }): string {
  return pageLink('confirm', opts);
}
