import { describe, expect, it } from 'vitest';
import { dedupeCutoff } from './dedupe-window.ts';

describe('dedupe retention window', () => {
  it('forgets messageIds first seen more than the window ago, in exact days across a DST change', () => {
    expect(dedupeCutoff(new Date('2026-11-23T10:00:00Z'), 30).toISOString()).toBe('2026-10-24T10:00:00.000Z');
    expect(dedupeCutoff(new Date('2026-11-23T10:00:00Z'), 1).toISOString()).toBe('2026-11-22T10:00:00.000Z');
  });
});
