import type { Stage } from '@lifecycle/contracts';
import type { Profile } from './profile.ts';
import type { Thresholds } from './thresholds.ts';

export type StageReason =
  | 'first_seen'
  | 'shopping_intent'
  | 'first_order'
  | 'repeat_order'
  | 'reactivated'
  | 'promoter'
  | 'silent_past_expected_repurchase'
  | 'silent_past_lapsed_threshold'
  | 'orders_refunded';

export interface StageDecision {
  stage: Stage;
  /** Why, in a word ops can filter on. */
  reason: StageReason;
}

const DAY_MS = 86_400_000;
const quiet: ReadonlySet<Stage | null> = new Set(['at_risk', 'lapsed']);
const buyers: ReadonlySet<Stage | null> = new Set(['conversion', 'retention', 'advocacy', 'at_risk', 'lapsed']);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Figures derived from the orders and reviews, for the read API. */
export function orderFigures(profile: Profile): {
  revenue: Record<string, number>;
  averageOrderValue: Record<string, number>;
  medianGapDays: number | null;
  averageReviewRating: number | null;
} {
  const revenue: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const o of profile.orders) {
    revenue[o.currency] = (revenue[o.currency] ?? 0) + o.total;
    counts[o.currency] = (counts[o.currency] ?? 0) + 1;
  }
  const averageOrderValue = Object.fromEntries(Object.entries(revenue).map(([c, r]) => [c, r / (counts[c] ?? 1)]));
  const times = profile.orders.map((o) => Date.parse(o.at));
  const gaps = times.slice(1).map((time, i) => time - (times[i] ?? time));
  const ratings = profile.signals.flatMap((s) => (s.kind === 'review' && s.value !== null ? [s.value] : []));
  return {
    revenue,
    averageOrderValue,
    medianGapDays: gaps.length === 0 ? null : median(gaps) / DAY_MS,
    averageReviewRating: ratings.length === 0 ? null : ratings.reduce((a, b) => a + b, 0) / ratings.length,
  };
}

/** How long after their last order this customer would normally buy again, in ms. */
export function expectedRepurchaseMs(profile: Profile, t: Thresholds): number {
  return expectedAfter(profile.orders, t);
}

function expectedAfter(orders: Profile['orders'], t: Thresholds): number {
  const times = orders.map((o) => Date.parse(o.at));
  if (times.length < 2) return t.atRisk.defaultRepurchaseDays * DAY_MS;
  const gaps = times.slice(1).map((time, i) => time - (times[i] ?? time));
  return Math.max(median(gaps), DAY_MS) * t.atRisk.medianGapFactor;
}

function lastOrderMs(profile: Profile): number | null {
  const last = profile.orders.at(-1);
  return last === undefined ? null : Date.parse(last.at);
}

/**
 * The start of the customer's current active spell: the latest order that came after a silence
 * longer than their expected repurchase interval (a reactivation), or null when there was none.
 */
function activeSince(profile: Profile, t: Thresholds): string | null {
  let since: string | null = null;
  profile.orders.forEach((order, i) => {
    const prior = profile.orders[i - 1];
    // Judged by the interval expected before this order came in.
    if (prior !== undefined && Date.parse(order.at) - Date.parse(prior.at) >= expectedAfter(profile.orders.slice(0, i), t)) since = order.at;
  });
  return since;
}

/** Promotes the store in the current active spell: promotion from before a quiet spell must be earned again. */
function isPromoter(profile: Profile, t: Thresholds): boolean {
  const since = activeSince(profile, t);
  const recent = profile.signals.filter((s) => since === null || s.at >= since);
  const lastNps = recent.filter((s) => s.kind === 'nps').at(-1);
  return (
    (lastNps?.value != null && lastNps.value >= t.advocacy.minNps) ||
    recent.some((s) => (s.kind === 'review' && s.value !== null && s.value >= t.advocacy.minReviewRating) || s.kind === 'referral' || s.kind === 'share')
  );
}

/**
 * The stage a profile belongs in at `now`, and why. Pure: it reads no clock, and the same
 * profile, time and thresholds always give the same answer. `previous` only shapes the reason
 * (a returning customer is `reactivated`, a refunded buyer `orders_refunded`).
 */
export function decideStage(profile: Profile, now: string, t: Thresholds): StageDecision {
  const previous = profile.stage;
  const last = lastOrderMs(profile);
  if (last === null) {
    if (buyers.has(previous)) return { stage: profile.intentSignals > 0 ? 'consideration' : 'awareness', reason: 'orders_refunded' };
    return profile.intentSignals > 0 ? { stage: 'consideration', reason: 'shopping_intent' } : { stage: 'awareness', reason: 'first_seen' };
  }
  const silence = Date.parse(now) - last;
  const expected = expectedRepurchaseMs(profile, t);
  if (silence >= expected * t.lapsed.factor) return { stage: 'lapsed', reason: 'silent_past_lapsed_threshold' };
  if (silence >= expected) return { stage: 'at_risk', reason: 'silent_past_expected_repurchase' };
  if (isPromoter(profile, t)) return { stage: 'advocacy', reason: quiet.has(previous) ? 'reactivated' : 'promoter' };
  if (profile.orders.length >= 2) return { stage: 'retention', reason: quiet.has(previous) ? 'reactivated' : 'repeat_order' };
  return { stage: 'conversion', reason: quiet.has(previous) ? 'reactivated' : 'first_order' };
}

/** The next moment the stage would change by silence alone, or null when time cannot change it. */
export function nextCheckAt(profile: Profile, now: string, t: Thresholds): string | null {
  const last = lastOrderMs(profile);
  if (last === null) return null;
  const expected = expectedRepurchaseMs(profile, t);
  const nowMs = Date.parse(now);
  const next = [last + expected, last + expected * t.lapsed.factor].find((moment) => moment > nowMs);
  return next === undefined ? null : new Date(Math.ceil(next)).toISOString();
}
