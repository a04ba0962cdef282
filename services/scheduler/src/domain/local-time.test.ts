import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { dueAfterDelay, localDate, monthDay, nextInWindow, nextOccurrence, zoneFor, zoneNamed } from './local-time.ts';

const iso = (d: Date | undefined) => d?.toISOString();
const at = (hm: string, days = 0) => ({ kind: 'local' as const, days, at: hm });

describe('due time after a delay', () => {
  it('adds a plain duration to the trigger instant', () => {
    expect(iso(dueAfterDelay(new Date('2026-11-20T09:00:00Z'), { kind: 'duration', ms: 7_200_000 }, 'Asia/Tokyo'))).toBe('2026-11-20T11:00:00.000Z');
  });

  it('lands "at 10:00 customer time 2 days after" on the customer’s calendar, not UTC’s', () => {
    // 23:30 on 20 Nov in Tokyo is 14:30 UTC: two local days later is 22 Nov, 10:00 JST.
    expect(iso(dueAfterDelay(new Date('2026-11-20T14:30:00Z'), at('10:00', 2), 'Asia/Tokyo'))).toBe('2026-11-22T01:00:00.000Z');
    expect(iso(dueAfterDelay(new Date('2026-11-20T14:30:00Z'), at('10:00', 2), 'America/New_York'))).toBe('2026-11-22T15:00:00.000Z');
  });

  it('keeps the local hour across a DST change (New York, spring forward and fall back)', () => {
    // Friday 6 March 2026, EST (UTC-5); DST starts Sunday 8 March: 10:00 EDT is 14:00 UTC.
    expect(iso(dueAfterDelay(new Date('2026-03-06T15:00:00Z'), at('10:00', 3), 'America/New_York'))).toBe('2026-03-09T14:00:00.000Z');
    // DST ends Sunday 1 November 2026: 10:00 EST is 15:00 UTC.
    expect(iso(dueAfterDelay(new Date('2026-10-30T14:00:00Z'), at('10:00', 3), 'America/New_York'))).toBe('2026-11-02T15:00:00.000Z');
  });

  it('moves a local time that does not exist (skipped by DST) forward by the gap', () => {
    // Europe/Berlin skips 02:00–03:00 on 29 March 2026: "02:30" becomes 03:30 CEST = 01:30 UTC.
    expect(iso(dueAfterDelay(new Date('2026-03-28T12:00:00Z'), at('02:30', 1), 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
  });
});

describe('send windows (quiet hours) in the customer’s zone', () => {
  const daytime = { from: '09:00', to: '20:00' };

  it('keeps an instant inside the window', () => {
    expect(iso(nextInWindow(new Date('2026-11-20T03:00:00Z'), daytime, 'Asia/Tokyo'))).toBe('2026-11-20T03:00:00.000Z');
  });

  it('defers a message due at night to 09:00 the next local morning', () => {
    // 22:00 in New York on 20 Nov → 09:00 EST on 21 Nov.
    expect(iso(nextInWindow(new Date('2026-11-21T03:00:00Z'), daytime, 'America/New_York'))).toBe('2026-11-21T14:00:00.000Z');
    // 05:00 in Tokyo → 09:00 the same day.
    expect(iso(nextInWindow(new Date('2026-11-19T20:00:00Z'), daytime, 'Asia/Tokyo'))).toBe('2026-11-20T00:00:00.000Z');
  });

  it('opens at the local hour on the morning after a DST change in several zones', () => {
    // Night of 7–8 March 2026 in New York: 09:00 on the 8th is already EDT (13:00 UTC).
    expect(iso(nextInWindow(new Date('2026-03-08T04:00:00Z'), daytime, 'America/New_York'))).toBe('2026-03-08T13:00:00.000Z');
    // Night of 24–25 October 2026 in London: 09:00 on the 25th is GMT again (09:00 UTC).
    expect(iso(nextInWindow(new Date('2026-10-24T22:30:00Z'), daytime, 'Europe/London'))).toBe('2026-10-25T09:00:00.000Z');
    // Sydney leaves DST on 5 April 2026: 09:00 AEST is 23:00 UTC the day before.
    expect(iso(nextInWindow(new Date('2026-04-04T12:00:00Z'), daytime, 'Australia/Sydney'))).toBe('2026-04-04T23:00:00.000Z');
  });

  it('skips days the window does not open on', () => {
    // Saturday 21 Nov 2026, 10:00 Berlin, weekdays only → Monday 23 Nov, 09:00 CET.
    expect(iso(nextInWindow(new Date('2026-11-21T09:00:00Z'), { ...daytime, days: ['mon', 'tue', 'wed', 'thu', 'fri'] }, 'Europe/Berlin'))).toBe(
      '2026-11-23T08:00:00.000Z',
    );
  });

  it('handles a window that passes midnight', () => {
    const evening = { from: '21:00', to: '02:00' };
    // 01:00 local belongs to the window that opened the evening before.
    expect(iso(nextInWindow(new Date('2026-11-20T00:00:00Z'), evening, 'UTC'))).toBe('2026-11-20T00:00:00.000Z');
    expect(iso(nextInWindow(new Date('2026-11-20T03:00:00Z'), evening, 'UTC'))).toBe('2026-11-20T21:00:00.000Z');
  });
});

describe('yearly dates', () => {
  it('puts a 29 February birthday on 28 February in other years and on the 29th in leap years', () => {
    const birthday = (after: string) => nextOccurrence('birthday', '1992-02-29', at('09:00'), 'UTC', new Date(after));
    expect(birthday('2026-11-23T00:00:00Z')).toEqual({ date: '2027-02-28', year: 2027, years: null, dueAt: new Date('2027-02-28T09:00:00Z') });
    expect(birthday('2027-03-01T00:00:00Z')?.date).toBe('2028-02-29');
  });

  it('sends at the local hour of the day in the customer’s zone, and rolls to next year once past', () => {
    expect(iso(nextOccurrence('birthday', '--06-02', at('09:00'), 'Asia/Tokyo', new Date('2027-06-01T00:00:00Z'))?.dueAt)).toBe('2027-06-02T00:00:00.000Z');
    expect(nextOccurrence('birthday', '06-02', at('09:00'), 'Asia/Tokyo', new Date('2027-06-02T00:00:01Z'))?.date).toBe('2028-06-02');
  });

  it('counts anniversary years and never falls on the original day itself', () => {
    const first = nextOccurrence('first_order_anniversary', '2026-03-14', at('10:00'), 'Europe/Berlin', new Date('2026-03-14T12:00:00Z'));
    expect(first).toEqual({ date: '2027-03-14', year: 2027, years: 1, dueAt: new Date('2027-03-14T09:00:00Z') });
    expect(nextOccurrence('first_order_anniversary', '2020-03-14', at('10:00'), 'UTC', new Date('2026-11-23T00:00:00Z'))?.years).toBe(7);
  });

  it('refuses dates that are not dates', () => {
    expect(monthDay('1990-13-01')).toBeNull();
    expect(nextOccurrence('birthday', 'soon', at('09:00'), 'UTC', new Date())).toBeNull();
  });
});

describe('the customer’s zone', () => {
  it('falls back to the store zone when the customer has none or a bad one', () => {
    expect(zoneFor('Asia/Tokyo', 'Europe/Paris')).toBe('Asia/Tokyo');
    expect(zoneFor(null, 'Europe/Paris')).toBe('Europe/Paris');
    expect(zoneFor('Mars/Olympus', 'Europe/Paris')).toBe('Europe/Paris');
  });
});

describe('remembered zone offsets', () => {
  const minute = 60_000;
  const hour = 60 * minute;

  it('moves to DST at the minute on Lord Howe, whose changes fall on the half hour in UTC', () => {
    // 4 October 2026: 02:00 LHST (UTC+10:30) becomes 02:30 LHDT (UTC+11), at 15:30 UTC on the 3rd.
    expect(localDate(new Date('2026-10-03T13:29:00Z'), 'Australia/Lord_Howe')).toBe('2026-10-03');
    expect(localDate(new Date('2026-10-03T13:30:00Z'), 'Australia/Lord_Howe')).toBe('2026-10-04');
    // "02:15" does not exist that night: it moves forward by the half-hour gap, 02:45 LHDT.
    expect(iso(dueAfterDelay(new Date('2026-10-03T02:00:00Z'), at('02:15', 1), 'Australia/Lord_Howe'))).toBe('2026-10-03T15:45:00.000Z');
    // The window opens at 09:00 LHDT the same morning (22:00 UTC the day before).
    expect(iso(nextInWindow(new Date('2026-10-03T15:00:00Z'), { from: '09:00', to: '20:00' }, 'Australia/Lord_Howe'))).toBe('2026-10-03T22:00:00.000Z');
  });

  it('gives luxon’s own offset at every hour of 2026, and at every minute of the hours holding a change', () => {
    const zones = ['Australia/Lord_Howe', 'Pacific/Chatham', 'Europe/Berlin', 'America/New_York', 'America/Santiago', 'Africa/Casablanca', 'Asia/Kathmandu'];
    const from = Date.parse('2026-01-01T00:00:00Z');
    const to = Date.parse('2027-01-01T00:00:00Z');
    let changes = 0;
    for (const name of zones) {
      const remembered = zoneNamed(name);
      expect(typeof remembered).not.toBe('string');
      if (typeof remembered === 'string') continue;
      const exact = (ts: number) => DateTime.fromMillis(ts, { zone: name }).offset;
      for (let ts = from, now = exact(from); ts < to; ts += hour) {
        const next = exact(ts + hour);
        expect(remembered.offset(ts)).toBe(now);
        const same = now === next;
        now = next;
        if (same) continue;
        changes++;
        for (let m = ts; m <= ts + hour; m += minute) expect(remembered.offset(m)).toBe(exact(m));
      }
    }
    // Berlin, New York, Santiago, Lord Howe and Chatham change twice a year, Casablanca around Ramadan.
    expect(changes).toBeGreaterThanOrEqual(10);
  });
});
