import { describe, expect, it } from 'vitest';
import { formatAge, parseAge, releaseVerdict } from './doubtful-release.ts';

describe('parseAge', () => {
  it('reads seconds, minutes, hours and days, and 0 for all', () => {
    expect(parseAge('90s')).toEqual({ ok: true, ms: 90_000 });
    expect(parseAge('30m')).toEqual({ ok: true, ms: 1_800_000 });
    expect(parseAge(' 1h ')).toEqual({ ok: true, ms: 3_600_000 });
    expect(parseAge('2d')).toEqual({ ok: true, ms: 172_800_000 });
    expect(parseAge('0')).toEqual({ ok: true, ms: 0 });
  });

  it('says how to write an age it cannot read', () => {
    for (const text of ['', '1', 'h', '1.5h', '-1h', '1w', 'an hour']) expect(parseAge(text)).toEqual({ ok: false, reason: `"${text}" is not an age; write it like 30m, 1h or 2d (or 0 for all)` });
  });
});

describe('formatAge', () => {
  it('shows the two largest units', () => {
    expect(formatAge(0)).toBe('0s');
    expect(formatAge(42_500)).toBe('42s');
    expect(formatAge(3_600_000 + 61_000)).toBe('1h 1m');
    expect(formatAge(86_400_000 * 3 + 3_600_000 * 5 + 59_000)).toBe('3d 5h');
  });
});

describe('releaseVerdict', () => {
  const doubtful = { status: 'doubtful', claimToken: 'tok', releasedAt: null, hasRequest: true };

  it('releases a doubtful send with its request stored', () => {
    expect(releaseVerdict(doubtful)).toEqual({ action: 'release' });
    // Released before, tried again and doubtful again: may be released again.
    expect(releaseVerdict({ ...doubtful, releasedAt: new Date(0) })).toEqual({ action: 'release' });
  });

  it('publishes a pending release again: released, no attempt has taken it up', () => {
    expect(releaseVerdict({ status: 'claimed', claimToken: null, releasedAt: new Date(0), hasRequest: true })).toEqual({ action: 'republish' });
  });

  it('refuses a send that is not doubtful, a claim an attempt holds, an unknown key and a row without its request', () => {
    for (const status of ['sent', 'failed', 'suppressed', 'sending']) expect(releaseVerdict({ ...doubtful, status })).toEqual({ action: 'refuse', reason: `the send is ${status}, not doubtful` });
    expect(releaseVerdict({ status: 'claimed', claimToken: 'tok', releasedAt: new Date(0), hasRequest: true })).toMatchObject({ action: 'refuse' });
    expect(releaseVerdict({ status: 'claimed', claimToken: null, releasedAt: null, hasRequest: true })).toMatchObject({ action: 'refuse' });
    expect(releaseVerdict(undefined)).toEqual({ action: 'refuse', reason: 'no send with this dedupe key' });
    expect(releaseVerdict({ ...doubtful, hasRequest: false })).toMatchObject({ action: 'refuse', reason: expect.stringContaining('no request stored') });
  });
});
