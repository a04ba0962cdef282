import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { knownEventProperties } from '@lifecycle/contracts';
import { validateCall, type Validation } from './validate-call.ts';

/** Either accepted, or rejected with a reason and at least one named field and message. */
function expectVerdict(result: Validation): void {
  if (result.ok) return;
  expect(result.reason.length).toBeGreaterThan(0);
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) {
    expect(issue.field.length).toBeGreaterThan(0);
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

const isoTimestamp = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const id = fc.string({ minLength: 1, maxLength: 40 });

const goodOrder = fc.record({
  type: fc.constant('track'),
  event: fc.constant('Order Completed'),
  messageId: id,
  timestamp: isoTimestamp,
  userId: id,
  properties: fc.record({
    order_id: id,
    total: fc.double({ min: 0, max: 1e9, noNaN: true }),
    currency: fc.constantFrom('usd', 'EUR', 'jpy', 'BHD', 'GBP'),
    products: fc.array(fc.record({ name: fc.string(), price: fc.double({ min: 0, max: 1e6, noNaN: true }), quantity: fc.integer({ min: 1, max: 99 }) }), { maxLength: 5 }),
  }),
});

const anyCall = fc.record(
  {
    type: fc.oneof(fc.constantFrom('track', 'identify', 'alias', 'page', 'screen'), fc.anything()),
    event: fc.oneof(fc.constantFrom(...Object.keys(knownEventProperties)), fc.anything()),
    messageId: fc.oneof(id, fc.anything()),
    timestamp: fc.oneof(isoTimestamp, fc.string(), fc.anything()),
    userId: fc.oneof(id, fc.anything()),
    anonymousId: fc.oneof(id, fc.anything()),
    previousId: fc.oneof(id, fc.anything()),
    properties: fc.oneof(fc.dictionary(fc.string(), fc.anything()), fc.anything()),
    traits: fc.oneof(fc.record({ timezone: fc.string(), birthday: fc.string(), locale: fc.string(), email: fc.string() }, { requiredKeys: [] }), fc.anything()),
    context: fc.anything(),
  },
  { requiredKeys: [] },
);

/** A valid call with one field deleted or replaced by anything at all. */
const mutatedOrder = fc
  .tuple(goodOrder, fc.constantFrom('type', 'event', 'messageId', 'timestamp', 'userId', 'properties', 'order_id', 'total', 'currency', 'products'), fc.option(fc.anything()))
  .map(([call, field, replacement]) => {
    const mutate = (target: Record<string, unknown>): Record<string, unknown> => {
      const copy = { ...target };
      if (replacement === null) delete copy[field];
      else copy[field] = replacement;
      return copy;
    };
    return field in call ? mutate(call) : { ...call, properties: mutate(call.properties) };
  });

describe('validateCall, fed random and mutated payloads', () => {
  it('never throws on any JSON-like value, and accepts or rejects with a reason', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => expectVerdict(validateCall(value))),
      { numRuns: 500 },
    );
  });

  it('never throws on call-shaped values with random fields, and accepts or rejects with a reason', () => {
    fc.assert(
      fc.property(anyCall, (value) => expectVerdict(validateCall(value))),
      { numRuns: 1000 },
    );
  });

  it('never throws on a valid order with one field deleted or replaced, and accepts or rejects with a reason', () => {
    fc.assert(
      fc.property(mutatedOrder, (value) => expectVerdict(validateCall(value))),
      { numRuns: 1000 },
    );
  });

  it('accepts every well-formed order and gives all its amounts as integer minor units', () => {
    fc.assert(
      fc.property(goodOrder, (value) => {
        const result = validateCall(value);
        expect(result.ok).toBe(true);
        const amounts = result.ok ? Object.values(result.call.normalized?.money?.amounts ?? {}) : [];
        expect(amounts.length).toBe(1 + value.properties.products.length);
        for (const amount of amounts) expect(Number.isSafeInteger(amount)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
