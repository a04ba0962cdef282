import { describe, expect, it } from 'vitest';
import { donePrefix, lanesByKey, semaphore } from './consumer-lanes.ts';

describe('consumer lanes', () => {
  it('keeps each customer’s records together and in order, customers in order of first appearance', () => {
    const batch = [
      { key: 'ann', n: 1 },
      { key: 'bob', n: 2 },
      { key: 'ann', n: 3 },
      { key: null, n: 4 },
      { key: 'bob', n: 5 },
    ];
    expect(lanesByKey(batch).map((lane) => lane.map((r) => r.n))).toEqual([[1, 3], [2, 5], [4]]);
  });

  it('lets an offset be committed only once every record before it is done', () => {
    const finish = donePrefix(5);
    expect(finish(1)).toBeNull();
    expect(finish(3)).toBeNull();
    expect(finish(0)).toBe(1);
    expect(finish(2)).toBe(3);
    expect(finish(4)).toBe(4);
  });

  it('runs at most `limit` pieces of work at once and every queued one eventually', async () => {
    const limit = semaphore(2);
    let active = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const work = Array.from({ length: 5 }, () =>
      limit(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise<void>((resolve) => releases.push(resolve));
        active -= 1;
      }),
    );
    for (let released = 0; released < 5; released++) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(active).toBeLessThanOrEqual(2);
      releases.shift()?.();
    }
    await Promise.all(work);
    expect(peak).toBe(2);
  });
});
