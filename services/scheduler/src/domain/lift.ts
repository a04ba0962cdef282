/** A group of customers and how many of them converted. */
export interface GroupOutcome {
  customers: number;
  converted: number;
}

export interface Lift {
  /** Conversion rate of the mailed minus that of the held out. */
  absolute: number;
  /** `absolute` over the held-out rate; null when nobody held out converted. */
  relative: number | null;
  /** 95% interval of `absolute`. */
  ci95: [number, number];
  /** The interval does not span 0. */
  significant: boolean;
  method: string;
}

export const LIFT_METHOD = 'difference of two proportions, 95% Wald interval (two-proportion z-test)';
const Z95 = 1.959963984540054;

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * What mailing did to the conversion rate: the difference of the two groups' rates with its 95%
 * Wald interval, `d ± 1.96·√(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂)`. Null when either group is empty (there is
 * nothing to compare). Simple and standard; with few conversions the interval is too narrow, which
 * is why it is shown beside the group sizes.
 */
export function liftOf(mailed: GroupOutcome, heldOut: GroupOutcome): Lift | null {
  if (mailed.customers === 0 || heldOut.customers === 0) return null;
  const p1 = mailed.converted / mailed.customers;
  const p2 = heldOut.converted / heldOut.customers;
  const absolute = p1 - p2;
  const margin = Z95 * Math.sqrt((p1 * (1 - p1)) / mailed.customers + (p2 * (1 - p2)) / heldOut.customers);
  const ci95: [number, number] = [round(absolute - margin), round(absolute + margin)];
  return {
    absolute: round(absolute),
    relative: p2 === 0 ? null : round(absolute / p2),
    ci95,
    significant: ci95[0] > 0 || ci95[1] < 0,
    method: LIFT_METHOD,
  };
}

/** Conversion rate of a group; 0 for an empty one. */
export function conversionRate(g: GroupOutcome): number {
  return g.customers === 0 ? 0 : round(g.converted / g.customers);
}
