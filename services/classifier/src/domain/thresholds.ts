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
  /** A stage change caused by something older than this when it reached Kafka is historical. */
  historicalHorizonDays: z.number().positive(),
  /** How often RFM scores are recomputed over the whole customer base. */
  rfm: z.strictObject({ intervalHours: z.number().positive() }),
});
export type Thresholds = z.infer<typeof Thresholds>;

export const defaultThresholds: Thresholds = {
  atRisk: { medianGapFactor: 1.5, defaultRepurchaseDays: 60 },
  lapsed: { factor: 3 },
  advocacy: { minNps: 9, minReviewRating: 4 },
  historicalHorizonDays: 7,
  rfm: { intervalHours: 24 },
};

/** Whether something that happened at `occurredAt` and reached Kafka at `arrivedAt` (ms) is history. */
export function isHistorical(occurredAt: string, arrivedAt: number, t: Thresholds): boolean {
  return arrivedAt - Date.parse(occurredAt) > t.historicalHorizonDays * 86_400_000;
}
