import { DateTime, IANAZone } from 'luxon';
import type { OccasionKind } from '@lifecycle/contracts';
import type { Delay, SendWindow, Weekday } from './campaign.ts';

/**
 * Zone names already checked: luxon checks one by building an `Intl.DateTimeFormat`, which costs
 * more than the rest of planning an event. Bounded, since names come from customers' traits.
 */
const checkedZones = new Map<string, boolean>();

function isZone(name: string): boolean {
  const known = checkedZones.get(name);
  if (known !== undefined) return known;
  const valid = IANAZone.isValidZone(name);
  if (checkedZones.size < 2_000) checkedZones.set(name, valid);
  return valid;
}

const hourMs = 3_600_000;

/**
 * An IANA zone whose UTC offsets are remembered per UTC hour. Luxon asks a zone for offsets
 * several times per date operation and answers each with `Intl.DateTimeFormat#formatToParts`,
 * which was most of the cost of planning an event. The offset at the start of an hour is
 * remembered; when the next hour starts with the same offset, no change happens in between (tzdata
 * never changes an offset and back within an hour), else the hour holds a change (which need not
 * fall on the hour: Lord Howe, Nepal) and is asked of luxon exactly.
 */
class CachedZone extends IANAZone {
  private readonly hourOffsets = new Map<number, number>();

  override offset(ts: number): number {
    if (!Number.isFinite(ts)) return super.offset(ts);
    const hour = Math.floor(ts / hourMs);
    const start = this.atHour(hour);
    return start === this.atHour(hour + 1) ? start : super.offset(ts);
  }

  private atHour(hour: number): number {
    const known = this.hourOffsets.get(hour);
    if (known !== undefined) return known;
    const offset = super.offset(hour * hourMs);
    // Bounded: a year of hours is about 8,800 entries.
    if (this.hourOffsets.size >= 100_000) this.hourOffsets.clear();
    this.hourOffsets.set(hour, offset);
    return offset;
  }
}

const cachedZones = new Map<string, CachedZone>();

/** The zone luxon computes in, with its offsets remembered (a name that is no IANA zone is left to luxon). */
export function zoneNamed(name: string): CachedZone | string {
  const known = cachedZones.get(name);
  if (known !== undefined) return known;
  if (!isZone(name)) return name;
  const zone = new CachedZone(name);
  if (cachedZones.size < 2_000) cachedZones.set(name, zone);
  return zone;
}

/** The customer's zone when it is a real IANA zone, else the store's. */
export function zoneFor(customerZone: string | null | undefined, storeZone: string): string {
  return customerZone != null && isZone(customerZone) ? customerZone : storeZone;
}

function hm(text: string): { hour: number; minute: number } {
  const [hour, minute] = text.split(':').map(Number);
  return { hour: hour ?? 0, minute: minute ?? 0 };
}

/**
 * A local wall-clock time on a calendar day in a zone. A time that does not exist (skipped by a
 * DST change) moves forward by the gap, as clocks do; an ambiguous one takes the earlier instant.
 */
function atLocal(day: DateTime, time: string): DateTime {
  return day.set({ ...hm(time), second: 0, millisecond: 0 });
}

/** When a message is due after its trigger: a plain duration, or a local time N calendar days later. */
export function dueAfterDelay(triggerAt: Date, delay: Delay, zone: string): Date {
  if (delay.kind === 'duration') return new Date(triggerAt.getTime() + delay.ms);
  const local = DateTime.fromJSDate(triggerAt, { zone: zoneNamed(zone) }).startOf('day').plus({ days: delay.days });
  return atLocal(local, delay.at).toJSDate();
}

const weekdays: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * The first instant at or after `instant` inside the send window, in the zone's local time:
 * `instant` itself when the window is open, else the next opening. Windows may pass midnight
 * (`21:00`–`02:00` belongs to the day it opens); `days` limits the days a window opens on.
 */
export function nextInWindow(instant: Date, window: SendWindow, zone: string): Date {
  const at = DateTime.fromJSDate(instant, { zone: zoneNamed(zone) });
  const crossesMidnight = window.to <= window.from;
  const today = at.startOf('day');
  for (let offset = -1; offset <= 8; offset++) {
    const day = today.plus({ days: offset });
    const weekday = weekdays[day.weekday - 1];
    if (window.days !== undefined && weekday !== undefined && !window.days.includes(weekday)) continue;
    const opens = atLocal(day, window.from);
    const closes = atLocal(crossesMidnight ? day.plus({ days: 1 }) : day, window.to);
    if (at >= opens && at < closes) return instant;
    if (opens > at) return opens.toJSDate();
  }
  // Unreachable for a valid window (some day of the next week opens); keep the instant.
  return instant;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** `YYYY-MM-DD` or `--MM-DD` / `MM-DD` (a birthday without a year) → month and day. */
export function monthDay(date: string): { month: number; day: number } | null {
  const m = /^(?:\d{4}-|--)?(\d{2})-(\d{2})$/.exec(date);
  if (m === null) return null;
  const month = Number(m[1]);
  const day = Number(m[2]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return { month, day };
}

export interface Occurrence {
  /** The calendar date it falls on this time (`2027-02-28` for a 29 February birthday). */
  date: string;
  year: number;
  /** Years since the original date (anniversaries); null when the date has no year. */
  years: number | null;
  dueAt: Date;
}

/**
 * The next yearly occurrence of a customer's date whose send time (the `{ days, at }` delay in
 * their zone) is at or after `notBefore`. 29 February falls on 28 February in other years.
 */
export function nextOccurrence(kind: OccasionKind, original: string, delay: Extract<Delay, { kind: 'local' }>, zone: string, notBefore: Date): Occurrence | null {
  const md = monthDay(original);
  if (md === null) return null;
  const originYear = /^\d{4}-/.test(original) ? Number(original.slice(0, 4)) : null;
  const startYear = DateTime.fromJSDate(notBefore, { zone: zoneNamed(zone) }).year - 1;
  for (let year = startYear; year <= startYear + 3; year++) {
    // An anniversary starts the year after the original date.
    if (kind !== 'birthday' && originYear !== null && year <= originYear) continue;
    const day = md.month === 2 && md.day === 29 && !isLeap(year) ? 28 : md.day;
    const local = DateTime.fromObject({ year, month: md.month, day }, { zone: zoneNamed(zone) });
    if (!local.isValid) return null;
    const dueAt = atLocal(local.plus({ days: delay.days }), delay.at).toJSDate();
    if (dueAt.getTime() >= notBefore.getTime()) {
      return { date: local.toISODate() ?? '', year, years: originYear === null || kind === 'birthday' ? null : year - originYear, dueAt };
    }
  }
  return null;
}

/** The customer's calendar date of an instant (`2026-03-14`): first-order and sign-up dates. */
export function localDate(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone: zoneNamed(zone) }).toISODate() ?? instant.toISOString().slice(0, 10);
}
