import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's defaults (N=16384, r=8, p=1): about 50 ms a guess on a laptop core. */
const keyLength = 64;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

const hashPattern = /^scrypt\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export function isPasswordHash(text: string): boolean {
  const m = hashPattern.exec(text);
  return m !== null && Buffer.from(m[2] ?? '', 'base64').length === keyLength && Buffer.from(m[1] ?? '', 'base64').length >= 16;
}

/** `scrypt$<salt b64>$<hash b64>` of a password, with a fresh 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `stored` (a `hashPassword` result), compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = hashPattern.exec(stored);
  if (m === null) return false;
  const expected = Buffer.from(m[2] ?? '', 'base64');
  const key = await derive(password, Buffer.from(m[1] ?? '', 'base64'));
  return key.length === expected.length && timingSafeEqual(key, expected);
}
