import { describe, expect, it } from 'vitest';
import { hashWriteKey, isValidWriteKey, writeKeyOf } from './write-keys.ts';

const basic = (user: string, password = ''): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('write keys', () => {
  const current = Buffer.from(hashWriteKey('key-2026'), 'hex');
  const next = Buffer.from(hashWriteKey('key-2027'), 'hex');

  it('reads the key from the user name of HTTP Basic auth, as Segment clients send it', () => {
    expect(writeKeyOf(basic('key-2026'))).toBe('key-2026');
    expect(writeKeyOf(basic('key-2026', 'ignored'))).toBe('key-2026');
    expect(writeKeyOf('Bearer key-2026')).toBeNull();
    expect(writeKeyOf(undefined)).toBeNull();
    expect(writeKeyOf(basic(''))).toBeNull();
  });

  it('accepts any of several configured keys, so keys can be rotated', () => {
    expect(isValidWriteKey('key-2026', [current, next])).toBe(true);
    expect(isValidWriteKey('key-2027', [current, next])).toBe(true);
  });

  it('refuses unknown and revoked keys alike, and everything when no key is configured', () => {
    expect(isValidWriteKey('key-2025', [current, next])).toBe(false);
    expect(isValidWriteKey('key-2026', [next])).toBe(false);
    expect(isValidWriteKey(null, [current])).toBe(false);
    expect(isValidWriteKey('key-2026', [])).toBe(false);
  });

  it('hashes keys the way `printf KEY | sha256sum` does', () => {
    expect(hashWriteKey('dev-write-key')).toBe('2cc827ddd1d176c150091ef0c8e181de15afbaf3c855263ca0d9069f7c2c3309');
  });
});
