import { describe, expect, it } from 'vitest';
import { crashesInARow, defaultRestartPolicy, describeExit, formatDelay, restartDelayMs } from './restart-policy.ts';

describe('restart backoff', () => {
  it('waits 1 s, 2 s, 4 s … after crashes in a row, never more than 30 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 40].map((n) => restartDelayMs(n, defaultRestartPolicy));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('counts a crash after a short run as one more in a row, and starts over after a minute of running', () => {
    expect(crashesInARow(0, 500, defaultRestartPolicy)).toBe(1);
    expect(crashesInARow(3, 59_999, defaultRestartPolicy)).toBe(4);
    expect(crashesInARow(5, 60_000, defaultRestartPolicy)).toBe(1);
  });
});

describe('describeExit', () => {
  it('says a signal the way a shell does, 128 + its number', () => {
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('code 137 (SIGKILL)');
    expect(describeExit({ code: null, signal: 'SIGTERM' })).toBe('code 143 (SIGTERM)');
    expect(describeExit({ code: 1, signal: null })).toBe('code 1');
  });

  it('shows whole seconds plainly and fractions to a tenth', () => {
    expect([formatDelay(2_000), formatDelay(100), formatDelay(30_000)]).toEqual(['2 s', '0.1 s', '30 s']);
  });
});
