import { z } from 'zod';
import { CurrencyRates } from '@lifecycle/contracts';

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
  rfm: z.strictObject({
    intervalHours: z.number().positive(),
    /** The older place of the store's rates; `currencies` at the top is the one place now. */
    currencies: CurrencyRates.optional(),
  }),
  /**
   * The store's exchange rates, shared with the scheduler (milestones): major units of `base` per
   * major unit of each listed currency. Unset: monetary scores rank each currency's customers
   * separately and amounts are never converted.
   */
  currencies: CurrencyRates.optional(),
}).superRefine((t, ctx) => {
  if (t.currencies !== undefined && t.rfm.currencies !== undefined) ctx.addIssue({ code: 'custom', path: ['rfm', 'currencies'], message: 'rates are given twice: keep `currencies` and remove `rfm.currencies`' });
});
export type Thresholds = z.infer<typeof Thresholds>;

/** The store's rates, wherever the file gives them. */
export function currencyRates(t: Thresholds): CurrencyRates | undefined {
  return t.currencies ?? t.rfm.currencies;
}

/** Whether something that happened at `occurredAt` and reached Kafka at `arrivedAt` (ms) is history. */
export function isHistorical(occurredAt: string, arrivedAt: number, t: Thresholds): boolean {
  return arrivedAt - Date.parse(occurredAt) > t.historicalHorizonDays * 86_400_000;
}
