import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The one backoff of the codebase: exponential with full jitter. Pure (no I/O, no clock), so a
 * domain module may import it from `@lifecycle/kit/retry` without pulling in Kafka or PostgreSQL.
 */

export interface Backoff {
  /** Ceiling of the wait before the second try; doubled for each later one. */
  baseDelayMs: number;
  /** No single wait is longer. */
  maxDelayMs: number;
}

/**
 * The wait after try number `attempt` (1-based) failed: a uniform draw (`random` in [0, 1)) below
 * `min(maxDelayMs, baseDelayMs * 2^(attempt-1))`. Full jitter spreads replicas that failed
 * together (a database restart) instead of bringing them back in one burst.
 */
export function backoffDelay(backoff: Backoff, attempt: number, random: number): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(Math.max(0, ceiling) * Math.min(Math.max(random, 0), 1));
}

export interface RetryOptions extends Backoff {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** In [0, 1); default `Math.random`. */
  random?: () => number;
  /** Aborting ends a wait at once: `retry` then rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** False: the error is not worth another try (bad input, an outage the caller handles itself). */
  shouldRetry?: (err: unknown, attempt: number) => boolean | Promise<boolean>;
  /** Called before each wait, e.g. to log the failure. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export type RetryOutcome<T> = { ok: true; value: T; attempts: number } | { ok: false; error: unknown; attempts: number };

/**
 * Runs `work` until it succeeds, `shouldRetry` says no, or `maxAttempts` tries failed, waiting
 * `backoffDelay` between tries. Resolves to the value or the last error with the number of tries
 * (the dead-letter record reports it); rejects only when `signal` is aborted (before a try or
 * during a wait; a try in progress is not interrupted).
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<RetryOutcome<T>> {
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return { ok: true, value: await work(attempt), attempts: attempt };
    } catch (err) {
      if (attempt >= opts.maxAttempts) return { ok: false, error: err, attempts: attempt };
      if (opts.shouldRetry !== undefined && !(await opts.shouldRetry(err, attempt))) return { ok: false, error: err, attempts: attempt };
      const delayMs = backoffDelay(opts, attempt, random());
      opts.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, opts.signal === undefined ? {} : { signal: opts.signal });
    }
  }
}
