import { describe, expect, it } from 'vitest';
import { nextSendSlot } from './send-pacing.ts';

describe('send pacing', () => {
  it('starts the first send at once', () => {
    expect(nextSendSlot(undefined, 1_000, 10)).toBe(1_000);
  });

  it('spaces sends evenly at the configured rate', () => {
    let slot: number | undefined;
    const slots: number[] = [];
    for (let i = 0; i < 5; i++) {
      slot = nextSendSlot(slot, 1_000, 10);
      slots.push(slot);
    }
    expect(slots).toEqual([1_000, 1_100, 1_200, 1_300, 1_400]);
  });

  it('does not let an idle spell build up a burst', () => {
    expect(nextSendSlot(1_000, 5_000, 10)).toBe(5_000);
  });
});
