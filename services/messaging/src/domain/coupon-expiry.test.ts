import { describe, expect, it } from 'vitest';
import { couponExpiry, localDateOf } from './coupon-expiry.ts';

describe('coupon expiry', () => {
  // 2026-03-10 20:00 UTC: already 11 March in Tokyo (05:00), still 10 March in New York (16:00, EDT).
  const now = new Date('2026-03-10T20:00:00Z');

  it('ends at the end of the local day in Asia/Tokyo, counted from the Tokyo date of the send', () => {
    expect(couponExpiry(now, 'Asia/Tokyo', 30)).toEqual({ expiresOn: '2026-04-10', expiresAt: new Date('2026-04-10T14:59:59.999Z') });
  });

  it('ends at the end of the local day in America/New_York, counted from the New York date of the send', () => {
    expect(couponExpiry(now, 'America/New_York', 30)).toEqual({ expiresOn: '2026-04-09', expiresAt: new Date('2026-04-10T03:59:59.999Z') });
  });

  it('ends at local midnight across a DST change (New York springs forward on 8 March 2026)', () => {
    const before = new Date('2026-03-01T15:00:00Z');
    expect(couponExpiry(before, 'America/New_York', 7)).toEqual({ expiresOn: '2026-03-08', expiresAt: new Date('2026-03-09T03:59:59.999Z') });
    expect(couponExpiry(before, 'America/New_York', 6)).toEqual({ expiresOn: '2026-03-07', expiresAt: new Date('2026-03-08T04:59:59.999Z') });
  });

  it('counts in UTC for a zone that is not an IANA zone', () => {
    expect(couponExpiry(now, 'Mars/Olympus', 1)).toEqual({ expiresOn: '2026-03-11', expiresAt: new Date('2026-03-11T23:59:59.999Z') });
  });

  it('gives the local date of an expiry back (a redelivery prints the same date)', () => {
    const { expiresAt, expiresOn } = couponExpiry(now, 'Asia/Tokyo', 14);
    expect(localDateOf(expiresAt, 'Asia/Tokyo')).toBe(expiresOn);
  });
});
