import { z } from 'zod';

/** The classifier's thresholds, as written in config/lifecycle.yaml. */
export const Thresholds = z.strictObject({
  atRisk: z.strictObject({
    medianGapFactor: z.number().min(1),
    defaultRepurchaseDays: z.number().positive(),
  }),
  lapsed: z.strictObject({ factor: z.number().gt(1) }),
  advocacy: z.strictObject({
    minNps: z.number().int().min(0).max(10),
    minReviewRating: z.number().min(1).max(5),
  }),
});
export type Thresholds = z.infer<typeof Thresholds>;

export const defaultThresholds: Thresholds = {
  atRisk: { medianGapFactor: 1.5, defaultRepurchaseDays: 60 },
  lapsed: { factor: 3 },
  advocacy: { minNps: 9, minReviewRating: 4 },
};
