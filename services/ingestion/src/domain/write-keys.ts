import { createHash, timingSafeEqual } from 'node:crypto';

/** The SHA-256 hex of a write key: what the configuration holds instead of the key. */
export function hashWriteKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The write key of an HTTP Basic `Authorization` header, where Segment clients put it as the
 * user name (the password is empty). Null when the header is missing or not Basic.
 */
export function writeKeyOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const key = colon === -1 ? decoded : decoded.slice(0, colon);
  return key === '' ? null : key;
}

/**
 * Whether a key hashes to one of the configured hashes. Every configured hash is compared, in
 * constant time, so the answer takes as long for a revoked key as for an unknown one.
 */
export function isValidWriteKey(key: string | null, hashes: readonly Buffer[]): boolean {
  const candidate = createHash('sha256').update(key ?? '', 'utf8').digest();
  let valid = false;
  for (const hash of hashes) {
    if (hash.length === candidate.length && timingSafeEqual(hash, candidate)) valid = key !== null;
  }
  return valid;
}
