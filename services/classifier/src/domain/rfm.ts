export interface RfmInput {
  customerId: string;
  lastOrderAt: string;
  orders: number;
  /** Lifetime revenue, in major units of the store's currency. */
  revenue: number;
}

export type RfmSegment = 'champions' | 'loyal' | 'potential_loyalists' | 'needs_attention' | 'at_risk' | 'hibernating';

export interface RfmScore {
  customerId: string;
  /** 1–5 quintiles over the customer base: 5 is the most recent, most frequent, highest spending. */
  recency: number;
  frequency: number;
  monetary: number;
  segment: RfmSegment;
}

/**
 * Quintile 1–5 of each value among all values; equal values share a score (the best rank
 * among them), so the result does not depend on input order. A base of one scores 5.
 */
function quintiles(values: number[], higherIsBetter: boolean): number[] {
  const sorted = [...values].sort((a, b) => (higherIsBetter ? a - b : b - a));
  const n = values.length;
  return values.map((v) => {
    // How many customers are no better than this one, as a share of all, in fifths.
    const atOrBelow = sorted.findLastIndex((x) => x === v) + 1;
    return Math.max(1, Math.ceil((atOrBelow * 5) / n));
  });
}

/** The usual named segments from recency and frequency scores. */
export function segmentOf(recency: number, frequency: number, monetary: number): RfmSegment {
  if (recency >= 4 && frequency >= 4 && monetary >= 4) return 'champions';
  if (recency >= 3 && frequency >= 4) return 'loyal';
  if (recency >= 4) return 'potential_loyalists';
  if (recency <= 2 && frequency >= 3) return 'at_risk';
  if (recency <= 2) return 'hibernating';
  return 'needs_attention';
}

/** Scores every customer with an order against the whole base, at `now`. */
export function scoreRfm(customers: RfmInput[], now: string): RfmScore[] {
  const nowMs = Date.parse(now);
  const recency = quintiles(customers.map((c) => nowMs - Date.parse(c.lastOrderAt)), false);
  const frequency = quintiles(customers.map((c) => c.orders), true);
  const monetary = quintiles(customers.map((c) => c.revenue), true);
  return customers.map((c, i) => {
    const r = recency[i] ?? 1;
    const f = frequency[i] ?? 1;
    const m = monetary[i] ?? 1;
    return { customerId: c.customerId, recency: r, frequency: f, monetary: m, segment: segmentOf(r, f, m) };
  });
}
