import { describe, expect, it } from 'vitest';
import { decideRetry, rateLimitWaitMs } from './retry-policy.ts';

const policy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };
const now = new Date('2026-11-23T10:00:00Z');

describe('retry decisions', () => {
  it('waits exactly as long as the rate-limit headers say', () => {
    expect(decideRetry(policy, 1, 2_500, 0.9)).toEqual({ action: 'retry', delayMs: 2_500 });
  });

  it('never waits longer than the configured maximum, even when asked to', () => {
    expect(decideRetry(policy, 1, 60_000, 0.5)).toEqual({ action: 'retry', delayMs: 8_000 });
  });

  it('backs off exponentially with full jitter when no wait was given', () => {
    expect(decideRetry(policy, 1, undefined, 0.5)).toEqual({ action: 'retry', delayMs: 250 });
    expect(decideRetry(policy, 2, undefined, 0.5)).toEqual({ action: 'retry', delayMs: 500 });
    expect(decideRetry(policy, 3, undefined, 0.999)).toEqual({ action: 'retry', delayMs: 1_998 });
    expect(decideRetry({ ...policy, maxAttempts: 10 }, 9, undefined, 0.999)).toEqual({ action: 'retry', delayMs: 7_992 });
  });

  it('gives up once the attempts are used up', () => {
    expect(decideRetry(policy, 4, undefined, 0.5)).toEqual({ action: 'give-up' });
    expect(decideRetry(policy, 4, 100, 0.5)).toEqual({ action: 'give-up' });
  });
});

describe('rate-limit headers', () => {
  it('reads SendGrid’s X-RateLimit-Reset as the Unix second the window resets', () => {
    expect(rateLimitWaitMs({ 'x-ratelimit-reset': String(now.getTime() / 1000 + 3) }, now)).toBe(3_000);
  });

  it('reads Retry-After in seconds or as an HTTP date', () => {
    expect(rateLimitWaitMs({ 'retry-after': '7' }, now)).toBe(7_000);
    expect(rateLimitWaitMs({ 'retry-after': 'Mon, 23 Nov 2026 10:00:04 GMT' }, now)).toBe(4_000);
  });

  it('waits nothing for a reset already past, and knows nothing without headers', () => {
    expect(rateLimitWaitMs({ 'x-ratelimit-reset': String(now.getTime() / 1000 - 5) }, now)).toBe(0);
    expect(rateLimitWaitMs({}, now)).toBeUndefined();
    expect(rateLimitWaitMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
  });
});
