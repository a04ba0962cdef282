import type { CurrencyRates } from '@lifecycle/contracts';

/** What one customer spent in one currency. */
export interface CurrencySpend {
  /** ISO 4217 code. */
  currency: string;
  /** Revenue in major units (12.5 EUR, 5000 JPY), as orders carry `total`. */
  revenue: number;
  orders: number;
  lastOrderAt: string;
}

export interface RfmInput {
  customerId: string;
  lastOrderAt: string;
  orders: number;
  /** Lifetime revenue, one entry per currency the customer paid in. */
  spend: CurrencySpend[];
}

/** The store's exchange rates (`currencies` in config/lifecycle.yaml), the shared money model's. */
export type { CurrencyRates } from '@lifecycle/contracts';

export type RfmSegment = 'champions' | 'loyal' | 'potential_loyalists' | 'needs_attention' | 'at_risk' | 'hibernating';

export interface RfmScore {
  customerId: string;
  /** 1–5 quintiles: 5 is the most recent, most frequent, highest spending. */
  recency: number;
  frequency: number;
  /** Ranked only among customers of the same `monetaryCurrency`. */
  monetary: number;
  /**
   * What monetary ranks the customer in: the base currency when their main currency has a rate
   * (or is the base), otherwise their main currency itself. Null when nothing was spent.
   */
  monetaryCurrency: string | null;
  segment: RfmSegment;
}

/**
 * Quintile 1–5 of each value among all values; equal values share a score (the best rank
 * among them), so the result does not depend on input order. A base of one scores 5.
 * That is ceil(5 × k / n) with k the number of values no better than this one: the SQL
 * recompute counts k with `count(*) OVER (ORDER BY …)`, whose frame takes in equal values.
 */
function quintiles(values: number[], higherIsBetter: boolean): number[] {
  const sorted = [...values].sort((a, b) => (higherIsBetter ? a - b : b - a));
  const n = values.length;
  // How many customers are no better than a value: the position after its last occurrence.
  const atOrBelow = new Map<number, number>();
  sorted.forEach((v, i) => atOrBelow.set(v, i + 1));
  return values.map((v) => Math.max(1, Math.ceil(((atOrBelow.get(v) ?? n) * 5) / n)));
}

/**
 * The usual named segments, first match wins: a bound left out does not apply. Kept as data so
 * the set-based recompute in SQL (rfm-recompute.ts) builds its CASE from the same rules.
 */
export const segmentRules: readonly { segment: RfmSegment; minRecency?: number; maxRecency?: number; minFrequency?: number; minMonetary?: number }[] = [
  { segment: 'champions', minRecency: 4, minFrequency: 4, minMonetary: 4 },
  { segment: 'loyal', minRecency: 3, minFrequency: 4 },
  { segment: 'potential_loyalists', minRecency: 4 },
  { segment: 'at_risk', maxRecency: 2, minFrequency: 3 },
  { segment: 'hibernating', maxRecency: 2 },
];
/** What a customer matching none of `segmentRules` is. */
export const fallbackSegment: RfmSegment = 'needs_attention';

/** The usual named segments from recency, frequency and monetary scores. */
export function segmentOf(recency: number, frequency: number, monetary: number): RfmSegment {
  const rule = segmentRules.find(
    (r) =>
      recency >= (r.minRecency ?? 1) &&
      recency <= (r.maxRecency ?? 5) &&
      frequency >= (r.minFrequency ?? 1) &&
      monetary >= (r.minMonetary ?? 1),
  );
  return rule?.segment ?? fallbackSegment;
}

interface Basis {
  currency: string;
  value: number;
}

/**
 * The currency a customer's monetary value is compared in, and that value. Revenue in currencies
 * with a rate (and in the base) is converted and added up in the base; any other currency stands
 * alone, since amounts in it cannot be compared with the rest. Of these groups the customer's is
 * the one with most orders, then the most recent order, then the first code alphabetically.
 */
function monetaryBasis(spend: CurrencySpend[], rates: CurrencyRates | undefined): Basis | null {
  const groups = new Map<string, { value: number; orders: number; lastOrderAt: string }>();
  for (const s of spend) {
    const rate = rates === undefined ? undefined : s.currency === rates.base ? 1 : rates.rates[s.currency];
    const currency = rate === undefined || rates === undefined ? s.currency : rates.base;
    const group = groups.get(currency) ?? { value: 0, orders: 0, lastOrderAt: s.lastOrderAt };
    groups.set(currency, {
      value: group.value + s.revenue * (rate ?? 1),
      orders: group.orders + s.orders,
      lastOrderAt: Date.parse(s.lastOrderAt) > Date.parse(group.lastOrderAt) ? s.lastOrderAt : group.lastOrderAt,
    });
  }
  let best: (Basis & { orders: number; lastOrderAt: string }) | null = null;
  for (const [currency, g] of groups) {
    const later = best === null ? 0 : Date.parse(g.lastOrderAt) - Date.parse(best.lastOrderAt);
    const better = best === null || g.orders > best.orders || (g.orders === best.orders && (later > 0 || (later === 0 && currency < best.currency)));
    if (better) best = { currency, ...g };
  }
  return best === null ? null : { currency: best.currency, value: best.value };
}

/**
 * Scores every customer with an order at `now`. Recency and frequency rank the whole base;
 * monetary ranks each customer only among those whose value is in the same currency (see
 * `monetaryBasis`), so ¥5,000 is never compared with €40 unless `rates` says how.
 *
 * The classifier computes the same scores in SQL over the whole base (rfm-recompute.ts); this
 * function states the rules and test/rfm-recompute.test.ts holds the SQL to it. (The SQL adds
 * converted amounts exactly, in numeric; here they are floating point.)
 */
export function scoreRfm(customers: RfmInput[], now: string, rates?: CurrencyRates): RfmScore[] {
  const nowMs = Date.parse(now);
  const recency = quintiles(customers.map((c) => nowMs - Date.parse(c.lastOrderAt)), false);
  const frequency = quintiles(customers.map((c) => c.orders), true);
  const bases = customers.map((c) => monetaryBasis(c.spend, rates));
  const monetary = new Map<number, number>();
  const members = bases.flatMap((basis, i) => (basis === null ? [] : [{ i, ...basis }]));
  for (const group of Map.groupBy(members, (m) => m.currency).values()) {
    const scores = quintiles(group.map((m) => m.value), true);
    group.forEach((m, k) => monetary.set(m.i, scores[k] ?? 1));
  }
  return customers.map((c, i) => {
    const r = recency[i] ?? 1;
    const f = frequency[i] ?? 1;
    // No spend at all to rank: the lowest monetary score.
    const m = monetary.get(i) ?? 1;
    return { customerId: c.customerId, recency: r, frequency: f, monetary: m, monetaryCurrency: bases[i]?.currency ?? null, segment: segmentOf(r, f, m) };
  });
}
