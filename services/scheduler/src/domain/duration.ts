export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

const unitMs = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const short = /^(\d+)\s*(w|d|h|m|s)$/;

/**
 * Parses a delay: an ISO 8601 duration of weeks, days and time (`P7D`, `PT2H30M`) or a short
 * form (`2h`, `30m`, `7d`). Days are 24 hours; calendar months and years are not delays.
 */
export function parseDuration(text: string): DurationResult {
  const value = text.trim();
  if (value === '0') return { ok: true, ms: 0 };
  const s = short.exec(value);
  if (s) return { ok: true, ms: Number(s[1]) * unitMs[s[2] as keyof typeof unitMs] };
  const m = iso.exec(value);
  if (m && value !== 'P' && !value.endsWith('T')) {
    const [, w, d, h, min, sec] = m;
    const ms = Number(w ?? 0) * unitMs.w + Number(d ?? 0) * unitMs.d + Number(h ?? 0) * unitMs.h + Number(min ?? 0) * unitMs.m + Number(sec ?? 0) * unitMs.s;
    return { ok: true, ms: Math.round(ms) };
  }
  return { ok: false, reason: `"${text}" is not a duration; write it like P7D, PT2H, 2h or 30m` };
}
