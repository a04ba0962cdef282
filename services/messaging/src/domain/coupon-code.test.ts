import { describe, expect, it } from 'vitest';
import { CROCKFORD, generateCode, verifyCode } from './coupon-code.ts';

const SECRET = 'coupon-secret-for-tests-0123456789abcdef';
const shape = { prefix: 'BDAY-', length: 10 };

describe('generated coupon codes', () => {
  it('are the prefix, ten Crockford base32 characters and two check characters', () => {
    const code = generateCode(shape, SECRET);
    expect(code).toMatch(/^BDAY-[0-9A-HJKMNP-TV-Z]{12}$/);
    expect(code.slice(5).split('').every((c) => CROCKFORD.includes(c))).toBe(true);
  });

  it('differ from one call to the next (random bodies)', () => {
    const codes = new Set(Array.from({ length: 200 }, () => generateCode(shape, SECRET)));
    expect(codes.size).toBe(200);
  });

  it('are the same for the same random bytes and secret, and differ with another secret', () => {
    const bytes = (n: number): Buffer => Buffer.alloc(n, 7);
    expect(generateCode(shape, SECRET, bytes)).toBe(generateCode(shape, SECRET, bytes));
    expect(generateCode(shape, SECRET, bytes).slice(0, 15)).toBe(generateCode(shape, 'another-secret-0123456789abcdefghij', bytes).slice(0, 15));
    expect(generateCode(shape, SECRET, bytes)).not.toBe(generateCode(shape, 'another-secret-0123456789abcdefghij', bytes));
  });

  it('verify when typed in lower case with spaces around', () => {
    const code = generateCode(shape, SECRET);
    expect(verifyCode(code, shape, SECRET)).toEqual({ ok: true });
    expect(verifyCode(`  ${code.toLowerCase()} `, shape, SECRET)).toEqual({ ok: true });
  });

  it('fail the check when a character is changed (a typo): always in the check characters, all but about 1 in 1,024 in the body', () => {
    // Fixed random bytes: the same codes (and so the same outcome) on every run.
    let seed = 1;
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 255));
    let typos = 0;
    let passed = 0;
    for (let n = 0; n < 20; n++) {
      const code = generateCode(shape, SECRET, bytes);
      expect(verifyCode(code, shape, SECRET)).toEqual({ ok: true });
      for (let i = shape.prefix.length; i < code.length; i++) {
        for (const other of CROCKFORD) {
          if (other === code[i]) continue;
          const typo = code.slice(0, i) + other + code.slice(i + 1);
          const verdict = verifyCode(typo, shape, SECRET);
          if (i >= shape.prefix.length + shape.length) expect(verdict).toEqual({ ok: false, reason: 'check-failed' });
          typos += 1;
          if (verdict.ok) passed += 1;
        }
      }
    }
    expect(typos).toBe(20 * 12 * 31);
    expect(passed).toBeLessThanOrEqual(typos / 200);
  });

  it('do not verify with another secret, prefix or length, or with characters outside the alphabet', () => {
    const code = generateCode(shape, SECRET);
    expect(verifyCode(code, shape, 'another-secret-0123456789abcdefghij').ok).toBe(false);
    expect(verifyCode(code, { prefix: 'XMAS-', length: 10 }, SECRET)).toEqual({ ok: false, reason: 'wrong-prefix' });
    expect(verifyCode(code.slice(0, -1), shape, SECRET)).toEqual({ ok: false, reason: 'wrong-length' });
    expect(verifyCode(`BDAY-${'U'.repeat(12)}`, shape, SECRET)).toEqual({ ok: false, reason: 'not-base32' });
  });
});
