import { describe, expect, it } from 'vitest';
import { lanesByKey } from './send-lanes.ts';

describe('send lanes', () => {
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
});
