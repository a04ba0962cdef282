import { describe, expect, it } from 'vitest';
import { backoffDelay, retry } from './retry.ts';

const backoff = { baseDelayMs: 100, maxDelayMs: 1_000 };

describe('backoffDelay', () => {
  it('draws the wait uniformly below a ceiling that doubles with each attempt (full jitter)', () => {
    expect(backoffDelay(backoff, 1, 0)).toBe(0);
    expect(backoffDelay(backoff, 1, 0.5)).toBe(50);
    expect(backoffDelay(backoff, 2, 0.5)).toBe(100);
    expect(backoffDelay(backoff, 3, 0.999)).toBe(399);
  });

  it('never waits longer than the maximum', () => {
    expect(backoffDelay(backoff, 10, 0.999)).toBe(999);
    expect(backoffDelay(backoff, 60, 0.5)).toBe(500);
  });
});

describe('retry', () => {
  it('tries until the work succeeds and says after how many tries', async () => {
    let calls = 0;
    const waits: number[] = [];
    const outcome = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error(`failure ${calls}`);
        return 'done';
      },
      { ...backoff, maxAttempts: 5, random: () => 0.01, onRetry: (_err, _attempt, delayMs) => waits.push(delayMs) },
    );
    expect(outcome).toEqual({ ok: true, value: 'done', attempts: 3 });
    expect(waits).toEqual([1, 2]);
  });

  it('gives up after maxAttempts tries with the last error', async () => {
    let calls = 0;
    const outcome = await retry(
      async () => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      },
      { ...backoff, maxAttempts: 3, random: () => 0 },
    );
    expect(outcome).toMatchObject({ ok: false, attempts: 3, error: new Error('failure 3') });
  });

  it('stops at once when the error is not worth another try', async () => {
    let calls = 0;
    const outcome = await retry(
      async () => {
        calls += 1;
        throw new Error('bad input');
      },
      { ...backoff, maxAttempts: 5, random: () => 0, shouldRetry: () => false },
    );
    expect(outcome).toMatchObject({ ok: false, attempts: 1 });
    expect(calls).toBe(1);
  });

  it('ends a wait when its signal is aborted, without another try', async () => {
    const stopping = new AbortController();
    let calls = 0;
    const started = Date.now();
    const outcome = retry(
      async () => {
        calls += 1;
        throw new Error('down');
      },
      { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 3, random: () => 0.999, signal: stopping.signal, onRetry: () => stopping.abort() },
    );
    await expect(outcome).rejects.toThrow(/abort/i);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
