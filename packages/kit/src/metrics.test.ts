import { describe, expect, it } from 'vitest';
import { partitionLag } from './metrics.ts';

describe('partitionLag', () => {
  const offsets = [
    { partition: 0, low: '0', high: '10' },
    { partition: 1, low: '40', high: '50' },
    { partition: 2, low: '5', high: '5' },
  ];

  it('is the high watermark minus the committed offset', () => {
    expect(partitionLag(offsets, new Map([[0, '7'], [1, '50'], [2, '5']]))).toEqual([
      { partition: 0, lag: 3 },
      { partition: 1, lag: 0 },
      { partition: 2, lag: 0 },
    ]);
  });

  it('counts a partition the group never committed on from its log start', () => {
    expect(partitionLag(offsets, new Map([[1, '-1']]))).toEqual([
      { partition: 0, lag: 10 },
      { partition: 1, lag: 10 },
      { partition: 2, lag: 0 },
    ]);
  });

  it('counts from the log start when the committed records were deleted by retention', () => {
    expect(partitionLag(offsets, new Map([[1, '12']]))).toContainEqual({ partition: 1, lag: 10 });
  });
});
