import type { Thresholds } from '../src/domain/thresholds.ts';

/** The thresholds config/lifecycle.yaml ships, for tests that need plain values (the service reads the file). */
export const shippedThresholds: Thresholds = {
  atRisk: { medianGapFactor: 1.5, defaultRepurchaseDays: 60 },
  lapsed: { factor: 3 },
  advocacy: { minNps: 9, minReviewRating: 4 },
  historicalHorizonDays: 7,
  rfm: { intervalHours: 24 },
};
