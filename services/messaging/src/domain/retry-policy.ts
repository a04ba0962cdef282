import { backoffDelay, type Backoff } from '@lifecycle/kit/retry';

/**
 * How the messaging service retries a send the provider did not take: `baseDelayMs` before the
 * second call, doubled for each later one; no single wait longer than `maxDelayMs`, whatever the
 * backoff or a rate-limit header says.
 */
export interface RetryPolicy extends Backoff {
  /** Provider calls per message before it is failed (the first call included). */
  maxAttempts: number;
}

export type RetryDecision = { action: 'retry'; delayMs: number } | { action: 'give-up' };

/**
 * What to do after call number `attempt` (1-based) came back "not accepted, try again". A
 * provider that said when to come back (429 with rate-limit headers) is waited for exactly;
 * anything else backs off exponentially with full jitter (`random` in [0, 1); the kit's one
 * backoff, as the consumers use), so replicas retrying together spread out instead of arriving
 * in one burst.
 */
export function decideRetry(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: number): RetryDecision {
  if (attempt >= policy.maxAttempts) return { action: 'give-up' };
  if (retryAfterMs !== undefined) return { action: 'retry', delayMs: Math.min(policy.maxDelayMs, Math.max(0, Math.ceil(retryAfterMs))) };
  return { action: 'retry', delayMs: backoffDelay(policy, attempt, random) };
}

/**
 * The wait a rate-limited answer asks for, from SendGrid's `X-RateLimit-Reset` (Unix seconds
 * when the window resets) or a standard `Retry-After` (seconds or an HTTP date). Undefined when
 * neither is present or readable.
 */
export function rateLimitWaitMs(headers: Record<string, unknown>, now: Date): number | undefined {
  const header = (name: string): string | undefined => {
    const value = headers[name] ?? headers[name.toLowerCase()];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const reset = header('x-ratelimit-reset');
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now.getTime());
  const retryAfter = header('retry-after');
  if (retryAfter === undefined) return undefined;
  if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}
