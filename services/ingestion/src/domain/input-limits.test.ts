import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecordValue, MAX_ID_LENGTH, MAX_INPUT_ISSUES, MAX_NESTING_DEPTH, screenInput } from './input-limits.ts';
import { validateCall } from './validate-call.ts';

const call = { type: 'track', messageId: 'm-1', timestamp: '2026-11-20T10:15:00Z', userId: 'u-1', event: 'Custom', properties: {} };

/** `{a: {a: … {a: leaf}}}` with `levels` objects, built without recursion. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('screenInput', () => {
  it('accepts an ordinary call, non-BMP characters (paired surrogates) included', () => {
    expect(screenInput({ ...call, properties: { name: 'Mug 🍵', tags: ['a', 'b'], order_id: 'o'.repeat(MAX_ID_LENGTH) } })).toEqual([]);
  });

  it('names a NUL character in a top-level id, a nested string and an array element', () => {
    expect(screenInput({ ...call, userId: 'u\u0000' })).toEqual([{ field: 'userId', message: 'contains a NUL character (U+0000)' }]);
    expect(screenInput({ ...call, properties: { a: { b: 'x\u0000y' } } })).toEqual([{ field: 'properties.a.b', message: 'contains a NUL character (U+0000)' }]);
    expect(screenInput({ ...call, properties: { products: [{ name: 'ok' }, { name: '\u0000' }] } })).toEqual([
      { field: 'properties.products.1.name', message: 'contains a NUL character (U+0000)' },
    ]);
  });

  it('names a NUL character in a key, printed escaped so the reason itself carries none', () => {
    const issues = screenInput({ ...call, properties: { 'bad\u0000key': 1 } });
    expect(issues).toEqual([{ field: 'properties.bad\\u0000key', message: 'key contains a NUL character (U+0000)' }]);
    expect(issues[0]?.field.includes('\u0000')).toBe(false);
  });

  it('names lone high and low surrogates in values and keys', () => {
    expect(screenInput({ ...call, anonymousId: 'a\uD800' })).toEqual([{ field: 'anonymousId', message: 'contains a lone UTF-16 surrogate, which is not valid Unicode' }]);
    expect(screenInput({ ...call, properties: { x: '\uDC00b' } })[0]?.field).toBe('properties.x');
    const key = screenInput({ ...call, traits: { ['k\uDBFF']: 'v' } });
    expect(key).toEqual([{ field: 'traits.k\\udbff', message: 'key contains a lone UTF-16 surrogate, which is not valid Unicode' }]);
  });

  it(`accepts nesting of exactly ${MAX_NESTING_DEPTH} levels and names the first object past it`, () => {
    // The call is level 1 and `properties` level 2: it and 30 objects inside it reach the limit.
    expect(screenInput({ ...call, properties: nested(MAX_NESTING_DEPTH - 1) })).toEqual([]);
    const issues = screenInput({ ...call, properties: nested(MAX_NESTING_DEPTH) });
    expect(issues).toEqual([{ field: `properties${'.a'.repeat(MAX_NESTING_DEPTH - 1)}`, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` }]);
  });

  it('counts arrays as levels too', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) deep = [deep];
    expect(screenInput({ list: deep })).toEqual([{ field: `list${'.0'.repeat(MAX_NESTING_DEPTH - 1)}`, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` }]);
  });

  it('does not overflow the stack on a million levels, and reports one issue', () => {
    const issues = screenInput({ ...call, properties: nested(1_000_000) });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toBe(`nesting deeper than ${MAX_NESTING_DEPTH} levels`);
  });

  it(`names ids longer than ${MAX_ID_LENGTH} characters, at the top and in properties, and leaves other long strings alone`, () => {
    const long = 'x'.repeat(MAX_ID_LENGTH + 1);
    const message = `ids are at most ${MAX_ID_LENGTH} characters, this one has ${MAX_ID_LENGTH + 1}`;
    expect(screenInput({ ...call, messageId: long })).toEqual([{ field: 'messageId', message }]);
    expect(screenInput({ ...call, properties: { order_id: long } })).toEqual([{ field: 'properties.order_id', message }]);
    expect(screenInput({ ...call, properties: { products: [{ product_id: long }] } })).toEqual([{ field: 'properties.products.0.product_id', message }]);
    expect(screenInput({ ...call, properties: { orderId: long, ID: long } }).map((i) => i.field)).toEqual(['properties.orderId', 'properties.ID']);
    expect(screenInput({ ...call, properties: { review_body: long, valid: long, paid: long, description: long } })).toEqual([]);
  });

  it('shortens a giant key in the path it reports', () => {
    const key = `${'k'.repeat(10_000)}\u0000`;
    const [issue] = screenInput({ properties: { [key]: 1 } });
    expect(issue?.field.length).toBeLessThan(100);
    expect(issue?.field.startsWith('properties.kkkk')).toBe(true);
  });

  it(`reports at most ${MAX_INPUT_ISSUES} issues, in the order the fields were written`, () => {
    const properties = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i}`, '\u0000']));
    const issues = screenInput({ properties });
    expect(issues).toHaveLength(MAX_INPUT_ISSUES);
    expect(issues.slice(0, 3).map((i) => i.field)).toEqual(['properties.p0', 'properties.p1', 'properties.p2']);
  });
});

/** Every string and key in a (shallow, generated) value, found by plain recursion. */
function texts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...texts(v)]);
}

/** Mostly ordinary characters, now and then a NUL or a surrogate half (two halves may happen to pair). */
const unit = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF') },
  { weight: 30, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
);

describe('screenInput, fed generated values', () => {
  it('never throws, and finds an issue exactly when some string or key holds a NUL or a lone surrogate', () => {
    fc.assert(
      fc.property(fc.anything({ stringUnit: unit, withNullPrototype: true, maxDepth: 4 }), (value) => {
        const bad = texts(value).some((t) => t.includes('\u0000') || !t.isWellFormed());
        const issues = screenInput(value);
        expect(issues.some((i) => /NUL|surrogate/.test(i.message))).toBe(bad);
        for (const issue of issues) expect(issue.field.includes('\u0000') || !issue.field.isWellFormed()).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('validateCall with input limits', () => {
  it('rejects a NUL in a custom property the Spec schema would pass, naming the field in the reason', () => {
    const result = validateCall({ ...call, properties: { note: 'a\u0000' } });
    expect(result).toMatchObject({ ok: false, reason: 'input not accepted: properties.note: contains a NUL character (U+0000)', issues: [{ field: 'properties.note' }] });
  });

  it('counts further issues in the reason', () => {
    const result = validateCall({ ...call, userId: '\u0000', anonymousId: '\uD800' });
    expect(result.ok ? '' : result.reason).toBe('input not accepted: userId: contains a NUL character (U+0000) (and 1 more)');
  });
});

describe('decodeRecordValue', () => {
  it('reads a clean UTF-8 JSON call', () => {
    expect(decodeRecordValue(Buffer.from(JSON.stringify({ ...call, properties: { name: 'Crème brûlée 🍮' } })))).toMatchObject({ ok: true });
  });

  it('names the string that holds a JSON-escaped lone surrogate', () => {
    const bytes = Buffer.from(JSON.stringify({ ...call, userId: 'u\uDC01' }));
    expect(bytes.toString()).toContain('\\udc01');
    expect(decodeRecordValue(bytes)).toMatchObject({ ok: false, reason: 'input not accepted: userId: contains a lone UTF-16 surrogate, which is not valid Unicode' });
  });

  it('names the string that holds bytes that are not UTF-8, rather than replacing them silently', () => {
    const [head, tail] = JSON.stringify({ ...call, properties: { name: 'AB' } }).split('AB');
    const bytes = Buffer.concat([Buffer.from(head ?? ''), Buffer.from([0x41, 0xc3, 0x28, 0xff]), Buffer.from(tail ?? '')]);
    expect(decodeRecordValue(bytes)).toMatchObject({ ok: false, issues: [{ field: 'properties.name', message: 'contains bytes that are not valid UTF-8' }] });
  });

  it('reads a deeply nested record without trouble and names the level past the limit', () => {
    const depth = 100_000;
    const text = `{"type":"track","properties":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const result = decodeRecordValue(Buffer.from(text));
    expect(result).toMatchObject({ ok: false, reason: `input not accepted: properties${'.a'.repeat(MAX_NESTING_DEPTH - 1)}: nesting deeper than ${MAX_NESTING_DEPTH} levels` });
  });

  it('keeps the reasons of empty and unparsable values', () => {
    expect(decodeRecordValue(null)).toMatchObject({ ok: false, reason: 'empty record value' });
    expect(decodeRecordValue(Buffer.from('{"type":'))).toMatchObject({ ok: false, reason: 'value is not valid JSON', issues: [{ field: '(root)' }] });
    // The parser's message quotes the input; what reaches the logs does not.
    expect(decodeRecordValue(Buffer.from('ann@example.com'))).toEqual({ ok: false, reason: 'value is not valid JSON', issues: [{ field: '(root)', message: "Unexpected token 'a' is not valid JSON" }] });
  });
});
