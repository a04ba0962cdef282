import { createHmac, randomBytes as cryptoRandomBytes } from 'node:crypto';

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed is hard to get wrong. */
export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** How many check characters follow the random ones. */
export const CHECK_LENGTH = 2;

/** What a generated pool's codes look like: `prefix` + `length` random characters + 2 check characters. */
export interface CodeShape {
  prefix: string;
  length: number;
}

/**
 * The check characters of a code: base32 of the first 10 bits of HMAC-SHA256(secret, prefix + body).
 * Without the secret a guess passes one time in 1,024.
 */
export function checkCharacters(secret: string, prefix: string, body: string): string {
  const mac = createHmac('sha256', secret).update(prefix + body).digest();
  const bits = ((mac[0] ?? 0) << 2) | ((mac[1] ?? 0) >> 6);
  return (CROCKFORD[bits >> 5] ?? '0') + (CROCKFORD[bits & 31] ?? '0');
}

/**
 * A new code: `prefix`, `length` characters from `randomBytes` (each byte's low 5 bits: 256 is a
 * multiple of 32, so every character is equally likely), then the check characters.
 */
export function generateCode(shape: CodeShape, secret: string, randomBytes: (n: number) => Buffer = cryptoRandomBytes): string {
  const bytes = randomBytes(shape.length);
  let body = '';
  for (let i = 0; i < shape.length; i++) body += CROCKFORD[(bytes[i] ?? 0) & 31] ?? '0';
  return shape.prefix + body + checkCharacters(secret, shape.prefix, body);
}

export type CodeVerdict = { ok: true } | { ok: false; reason: 'wrong-prefix' | 'wrong-length' | 'not-base32' | 'check-failed' };

/**
 * Whether `code` is one of ours for `shape`: right prefix, length and alphabet, and check
 * characters that match (a typo or a guess does not). Case and surrounding space are forgiven.
 */
export function verifyCode(code: string, shape: CodeShape, secret: string): CodeVerdict {
  const text = code.trim().toUpperCase();
  const prefix = shape.prefix.toUpperCase();
  if (!text.startsWith(prefix)) return { ok: false, reason: 'wrong-prefix' };
  const rest = text.slice(prefix.length);
  if (rest.length !== shape.length + CHECK_LENGTH) return { ok: false, reason: 'wrong-length' };
  if (![...rest].every((c) => CROCKFORD.includes(c))) return { ok: false, reason: 'not-base32' };
  const body = rest.slice(0, shape.length);
  return rest.slice(shape.length) === checkCharacters(secret, shape.prefix, body) ? { ok: true } : { ok: false, reason: 'check-failed' };
}
