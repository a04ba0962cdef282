import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['PT0S', 0],
    ['0', 0],
    ['P7D', 7 * 86_400_000],
    ['PT2H30M', 9_000_000],
    ['P1W', 604_800_000],
    ['P1DT1S', 86_401_000],
    ['2h', 7_200_000],
    ['30m', 1_800_000],
    ['7d', 604_800_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(['', 'P', 'PT', 'P1M', 'soon', '2 hours', '-1h'])('refuses %j with a hint', (text) => {
    expect(parseDuration(text)).toMatchObject({ ok: false, reason: expect.stringContaining('P7D') });
  });
});
