/**
 * What a what-if replay found, built from the two replays' outcomes (the live campaign folder's
 * and the candidate's) and printed for a marketer or as JSON. Pure: the replays happen elsewhere.
 */

/** A message a replay's scheduler requested: `at` is the request's `occurredAt`, the instant it was due. */
export interface ReplayedMessage {
  campaignId: string;
  customerId: string;
  at: string;
}

/** What one replay produced. */
export interface ReplayOutcome {
  /** The campaigns of the folder replayed, with whether each is enabled. */
  campaigns: { id: string; enabled: boolean }[];
  sent: ReplayedMessage[];
  /** Per campaign, jobs skipped or cancelled, by reason (`stale`, `cancelled: exit`, …). */
  skipped: Record<string, Record<string, number>>;
  /** Per campaign, jobs planned and due after the window's end: not sent in it. */
  pending: Record<string, number>;
}

export interface Example {
  customerId: string;
  at: string;
}

export interface SideReport {
  /** Whether the campaign is in this folder and enabled; null when the folder has no such campaign. */
  enabled: boolean | null;
  sent: number;
  /** Messages per ISO week (`2026-W49`, weeks starting Monday, UTC). */
  byWeek: Record<string, number>;
  skipped: Record<string, number>;
  /** Planned and due after the window's end. */
  pendingAtEnd: number;
}

export interface CampaignReport {
  campaignId: string;
  /** `changed` when anything the replays show differs, `added` / `removed` when one folder lacks it. */
  verdict: 'unchanged' | 'changed' | 'added' | 'removed';
  candidate: SideReport;
  live: SideReport;
  difference: {
    /** Candidate minus live. */
    sent: number;
    byWeek: Record<string, number>;
    skipped: Record<string, number>;
    pendingAtEnd: number;
    /** Messages (customer and instant) only the candidate set sends, and only the live set, the first few. */
    onlyCandidate: Example[];
    onlyLive: Example[];
    onlyCandidateTotal: number;
    onlyLiveTotal: number;
  };
}

export interface WhatIfReport {
  from: string;
  to: string;
  /** What was replayed, in words and numbers. */
  replayed: { historyBeforeWindow?: number; commerceEvents: number; consentChanges: number; consentChangesBeforeWindow: number; steps: number; note: string };
  campaigns: CampaignReport[];
}

const DAY_MS = 86_400_000;

/** The ISO 8601 week of an instant in UTC, as `YYYY-Www` (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(instant: string | Date): string {
  const d = new Date(instant);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return sorted(out);
}

function sorted(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** b − a for every key of either, zeros left out. */
export function subtract(b: Record<string, number>, a: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[key] ?? 0) - (a[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return sorted(out);
}

/**
 * The messages of one side that the other lacks, matched one for one on customer and instant
 * (a customer mailed twice at the same instant by one side and once by the other keeps one).
 */
function unmatched(mine: readonly ReplayedMessage[], theirs: readonly ReplayedMessage[]): ReplayedMessage[] {
  const left = new Map<string, number>();
  for (const m of theirs) left.set(`${m.customerId}\u0000${m.at}`, (left.get(`${m.customerId}\u0000${m.at}`) ?? 0) + 1);
  return mine.filter((m) => {
    const key = `${m.customerId}\u0000${m.at}`;
    const n = left.get(key) ?? 0;
    if (n === 0) return true;
    left.set(key, n - 1);
    return false;
  });
}

function side(outcome: ReplayOutcome, campaignId: string): { report: SideReport; messages: ReplayedMessage[] } {
  const messages = outcome.sent.filter((m) => m.campaignId === campaignId).sort((a, b) => a.at.localeCompare(b.at) || a.customerId.localeCompare(b.customerId));
  const campaign = outcome.campaigns.find((c) => c.id === campaignId);
  return {
    messages,
    report: { enabled: campaign?.enabled ?? null, sent: messages.length, byWeek: countBy(messages, (m) => isoWeek(m.at)), skipped: sorted(outcome.skipped[campaignId] ?? {}), pendingAtEnd: outcome.pending[campaignId] ?? 0 },
  };
}

/** Compares the candidate replay with the live one, campaign by campaign (every campaign of either folder). */
export function compareReplays(live: ReplayOutcome, candidate: ReplayOutcome, examples = 3): CampaignReport[] {
  const ids = [...new Set([...live.campaigns.map((c) => c.id), ...candidate.campaigns.map((c) => c.id), ...live.sent.map((m) => m.campaignId), ...candidate.sent.map((m) => m.campaignId)])].sort();
  return ids.map((campaignId) => {
    const l = side(live, campaignId);
    const c = side(candidate, campaignId);
    const onlyCandidate = unmatched(c.messages, l.messages);
    const onlyLive = unmatched(l.messages, c.messages);
    const skipped = subtract(c.report.skipped, l.report.skipped);
    const verdict: CampaignReport['verdict'] =
      c.report.enabled === null && l.report.enabled !== null
        ? 'removed'
        : l.report.enabled === null && c.report.enabled !== null
          ? 'added'
          : onlyCandidate.length + onlyLive.length > 0 || Object.keys(skipped).length > 0 || c.report.pendingAtEnd !== l.report.pendingAtEnd || c.report.enabled !== l.report.enabled
            ? 'changed'
            : 'unchanged';
    const example = (m: ReplayedMessage): Example => ({ customerId: m.customerId, at: m.at });
    return {
      campaignId,
      verdict,
      candidate: c.report,
      live: l.report,
      difference: {
        sent: c.report.sent - l.report.sent,
        byWeek: subtract(c.report.byWeek, l.report.byWeek),
        skipped,
        pendingAtEnd: c.report.pendingAtEnd - l.report.pendingAtEnd,
        onlyCandidate: onlyCandidate.slice(0, examples).map(example),
        onlyLive: onlyLive.slice(0, examples).map(example),
        onlyCandidateTotal: onlyCandidate.length,
        onlyLiveTotal: onlyLive.length,
      },
    };
  });
}

const signed = (n: number): string => (n > 0 ? `+${n}` : String(n));

function enabledNote(s: SideReport): string {
  return s.enabled === null ? 'absent' : s.enabled ? 'enabled' : 'disabled';
}

/** The report as a marketer reads it: changed campaigns first, with weeks, skips and examples; unchanged ones in one line each. */
export function formatReport(report: WhatIfReport): string[] {
  const lines = [`What if: ${report.from} to ${report.to}`, `Replayed: ${report.replayed.note}`, ''];
  const changed = report.campaigns.filter((c) => c.verdict !== 'unchanged');
  const unchanged = report.campaigns.filter((c) => c.verdict === 'unchanged');
  if (changed.length === 0) lines.push('The candidate campaigns send exactly what the live ones send in this window.', '');
  for (const c of changed) {
    const d = c.difference;
    lines.push(`${c.campaignId} (${c.verdict}; live ${enabledNote(c.live)}, candidate ${enabledNote(c.candidate)}): would send ${c.candidate.sent}, live ${c.live.sent} (${signed(d.sent)})`);
    const weeks = [...new Set([...Object.keys(c.candidate.byWeek), ...Object.keys(c.live.byWeek)])].sort();
    if (weeks.length > 0) {
      lines.push('  week       candidate   live   difference');
      for (const w of weeks) {
        const cand = c.candidate.byWeek[w] ?? 0;
        const live = c.live.byWeek[w] ?? 0;
        lines.push(`  ${w}  ${String(cand).padStart(9)}  ${String(live).padStart(5)}  ${signed(cand - live).padStart(11)}`);
      }
    }
    const reasons = [...new Set([...Object.keys(c.candidate.skipped), ...Object.keys(c.live.skipped)])].sort();
    if (reasons.length > 0) lines.push(`  skipped: ${reasons.map((r) => `${r} ${c.candidate.skipped[r] ?? 0} (live ${c.live.skipped[r] ?? 0})`).join(', ')}`);
    if (c.candidate.pendingAtEnd + c.live.pendingAtEnd > 0) lines.push(`  due after the window: ${c.candidate.pendingAtEnd} (live ${c.live.pendingAtEnd})`);
    const list = (xs: Example[], total: number): string => `${xs.map((x) => `${x.customerId} at ${x.at}`).join(', ')}${total > xs.length ? `, … ${total - xs.length} more` : ''}`;
    if (d.onlyCandidateTotal > 0) lines.push(`  only with the candidate (${d.onlyCandidateTotal}): ${list(d.onlyCandidate, d.onlyCandidateTotal)}`);
    if (d.onlyLiveTotal > 0) lines.push(`  only with the live set (${d.onlyLiveTotal}): ${list(d.onlyLive, d.onlyLiveTotal)}`);
    lines.push('');
  }
  if (unchanged.length > 0) {
    lines.push('Unchanged:');
    for (const c of unchanged) {
      const skipped = Object.entries(c.candidate.skipped).map(([r, n]) => `${r} ${n}`).join(', ');
      const later = c.candidate.pendingAtEnd > 0 ? `; ${c.candidate.pendingAtEnd} due after the window` : '';
      lines.push(`  ${c.campaignId}${c.candidate.enabled === false ? ' (disabled)' : ''}: ${c.candidate.sent} message(s)${skipped === '' ? '' : `; skipped ${skipped}`}${later}`);
    }
  }
  return lines;
}
