/**
 * Pure normalizations of the values a Segment call carries. Each returns the normalized value or
 * an error message; none throws.
 */

export type Normal<T> = { ok: true; value: T } | { ok: false; message: string };

const offsetPattern = /(Z|[+-]\d{2}:?\d{2})$/i;

/** An ISO 8601 timestamp as UTC, with the offset the client wrote kept beside it. */
export function normalizeTimestamp(timestamp: string): Normal<{ utc: string; offset: string }> {
  const millis = Date.parse(timestamp);
  const offset = offsetPattern.exec(timestamp)?.[1];
  if (Number.isNaN(millis) || offset === undefined) return { ok: false, message: 'expected an ISO 8601 timestamp with an offset' };
  return { ok: true, value: { utc: new Date(millis).toISOString(), offset: offset.toUpperCase() === 'Z' ? 'Z' : offset } };
}

// Currency codes and minor units are the shared money model's (packages/contracts/src/money.ts).
export { normalizeCurrency, toMinorUnits } from '@lifecycle/contracts';

const zones = new Map<string, string | null>();

/** A birthday as `YYYY-MM-DD`, from a date or an ISO date-time (its date part, as written). */
export function normalizeBirthday(value: unknown): Normal<string> {
  if (typeof value !== 'string') return { ok: false, message: 'expected a date such as 1990-05-31' };
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T.*)?$/.exec(value.trim());
  if (match === null) return { ok: false, message: 'expected a date such as 1990-05-31' };
  const [, y, m, d] = match;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  const iso = `${y}-${m}-${d}`;
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso) return { ok: false, message: 'not a calendar date' };
  return { ok: true, value: iso };
}

/** An IANA time zone, in its canonical spelling (`europe/paris` → `Europe/Paris`). */
export function normalizeTimeZone(value: unknown): Normal<string> {
  const bad = { ok: false, message: 'expected an IANA time zone such as Europe/Paris' } as const;
  // Node accepts bare offsets as zones too; they are not IANA names and ignore daylight saving.
  if (typeof value !== 'string' || value.trim() === '' || /^[+-]/.test(value.trim())) return bad;
  const name = value.trim();
  let canonical = zones.get(name);
  if (canonical === undefined) {
    try {
      canonical = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
    } catch {
      canonical = null;
    }
    // Only real zones are remembered, so made-up names cannot grow the cache without bound.
    if (canonical !== null) zones.set(name, canonical);
  }
  return canonical === null ? bad : { ok: true, value: canonical };
}

const locales = new Map<string, string>();
/** Any well-formed tag is a locale, so the cache of canonical forms is bounded: it starts over when full. */
const MAX_CACHED_LOCALES = 1_000;

/** A BCP 47 locale in canonical form (`en_us` → `en-US`). */
export function normalizeLocale(value: unknown): Normal<string> {
  const bad = { ok: false, message: 'expected a BCP 47 locale such as en-US' } as const;
  if (typeof value !== 'string' || value.trim() === '') return bad;
  const name = value.trim();
  // Canonicalizing costs microseconds a call, and a replay sends the same few locales again and again.
  const cached = locales.get(name);
  if (cached !== undefined) return { ok: true, value: cached };
  try {
    const [canonical] = Intl.getCanonicalLocales(name.replaceAll('_', '-'));
    if (canonical === undefined) return bad;
    if (locales.size >= MAX_CACHED_LOCALES) locales.clear();
    locales.set(name, canonical);
    return { ok: true, value: canonical };
  } catch {
    return bad;
  }
}
