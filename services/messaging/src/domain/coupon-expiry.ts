/**
 * When a code handed out at `now` expires: at the end of the customer's local day
 * `expiresInDays` days after the local date of the send (`timeZone`; UTC when it is no IANA zone).
 * `expiresOn` is that local date (YYYY-MM-DD), what the mail prints; `expiresAt` the last
 * millisecond of it.
 */
export function couponExpiry(now: Date, timeZone: string, expiresInDays: number): { expiresAt: Date; expiresOn: string } {
  const zone = usableZone(timeZone);
  const today = localDate(now, zone);
  const last = Date.UTC(today.year, today.month - 1, today.day + expiresInDays);
  const next = new Date(last + 86_400_000);
  const expiresAt = new Date(startOfLocalDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), zone) - 1);
  return { expiresAt, expiresOn: new Date(last).toISOString().slice(0, 10) };
}

const formats = new Map<string, Intl.DateTimeFormat>();

function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    // Zones come from customers' traits: bounded.
    if (formats.size > 500) formats.clear();
    formats.set(zone, f);
  }
  return f;
}

function usableZone(zone: string): string {
  try {
    format(zone);
    return zone;
  } catch {
    return 'UTC';
  }
}

function parts(at: number, zone: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of format(zone).formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

function localDate(at: Date, zone: string): { year: number; month: number; day: number } {
  const p = parts(at.getTime(), zone);
  return { year: p.year ?? 1970, month: p.month ?? 1, day: p.day ?? 1 };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(at: number, zone: string): number {
  const p = parts(at, zone);
  const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return wall - Math.floor(at / 1000) * 1000;
}

/** The first instant of a local calendar day (midnight, or the first minute after a DST gap at midnight). */
function startOfLocalDay(year: number, month: number, day: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let at = wall - offsetAt(wall, zone);
  // Once more with the offset at the guess: right across a change of offset that day.
  at = wall - offsetAt(at, zone);
  const p = parts(at, zone);
  // Midnight skipped by a DST change: the day starts when the clocks jump.
  if ((p.day ?? day) !== day) at += 3_600_000;
  return at;
}

/** The local calendar date (YYYY-MM-DD) of an instant in a zone (UTC when it is no IANA zone): the `expiresOn` of a code kept from before. */
export function localDateOf(at: Date, timeZone: string): string {
  const d = localDate(at, usableZone(timeZone));
  return `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}
