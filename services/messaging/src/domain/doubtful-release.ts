/**
 * An operator's release of a doubtful send for one more try. Never automatic: a doubtful send
 * may well have gone out (SendGrid took it and only its answer was lost), so trying again risks a
 * second copy, and only a person can weigh that against a lost mail. The wait before a send is
 * listed gives SendGrid's Event Webhook time to settle it as `sent` first.
 *
 * Releasing moves the row back to `claimed` without a claim token (so the next attempt takes it
 * over, as it would after a crash before the provider call) and publishes the stored
 * `messages.requested` record again; the running service consumes it and sends, with the consent
 * check, rendering and pacing of any other message. The row is moved and the record written to
 * messaging's outbox in one transaction, published by the relay after the commit. Until the
 * service takes it up the row waits as a pending release (`claimed`, no token, `releasedAt` set),
 * and releasing it again publishes the record once more (what a release from before the outbox,
 * whose publish failed, needs). A record that does reach the service twice sends once: the
 * second finds the key settled.
 */

export type AgeResult = { ok: true; ms: number } | { ok: false; reason: string };

const unitMs = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const short = /^(\d+)(d|h|m|s)$/;

function isUnit(unit: string): unit is keyof typeof unitMs {
  return unit in unitMs;
}

/** `--older-than` and `--all-older-than`: `90s`, `30m`, `1h`, `2d`, or `0` for all. */
export function parseAge(text: string): AgeResult {
  const value = text.trim();
  if (value === '0') return { ok: true, ms: 0 };
  const m = short.exec(value);
  const unit = m?.[2];
  if (m === null || unit === undefined || !isUnit(unit)) return { ok: false, reason: `"${text}" is not an age; write it like 30m, 1h or 2d (or 0 for all)` };
  return { ok: true, ms: Number(m[1]) * unitMs[unit] };
}

/** An age for people: the two largest units (`1d 3h`, `42m 10s`). */
export function formatAge(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}

/** What a row looks like to the release decision. */
export interface ReleaseCandidate {
  status: string;
  claimToken: string | null;
  releasedAt: Date | null;
  hasRequest: boolean;
}

export type ReleaseVerdict =
  /** Move the row back to `claimed` and publish its request. */
  | { action: 'release' }
  /** Released before and not taken up yet (or its publish failed, before the outbox): publish its request again. */
  | { action: 'republish' }
  | { action: 'refuse'; reason: string };

/** Whether a row may be released now. */
export function releaseVerdict(row: ReleaseCandidate | undefined): ReleaseVerdict {
  if (row === undefined) return { action: 'refuse', reason: 'no send with this dedupe key' };
  const pending = row.status === 'claimed' && row.claimToken === null && row.releasedAt !== null;
  if (row.status !== 'doubtful' && !pending) return { action: 'refuse', reason: `the send is ${row.status}, not doubtful` };
  if (!row.hasRequest) return { action: 'refuse', reason: 'no request stored with it (claimed before requests were kept): ask the campaign to request it again' };
  return pending ? { action: 'republish' } : { action: 'release' };
}
