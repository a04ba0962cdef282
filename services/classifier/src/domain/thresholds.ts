import { z } from 'zod';

const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));
const currencyProblem = (code: string): string | null =>
  !/^[A-Z]{3}$/.test(code) ? 'expected an ISO 4217 code in capitals, such as EUR' : isoCurrencies.has(code) ? null : 'not an ISO 4217 currency code';
const CurrencyCode = z.string().superRefine((code, ctx) => {
  const problem = currencyProblem(code);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * Exchange rates for RFM monetary scores: major units of `base` per major unit of each listed
 * currency. Revenue in a currency without a rate is ranked among that currency's customers only.
 */
const Currencies = z
  .strictObject({
    base: CurrencyCode,
    rates: z.record(z.string(), z.number().positive()).default({}),
  })
  .superRefine((c, ctx) => {
    for (const [code, rate] of Object.entries(c.rates)) {
      const problem = currencyProblem(code);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['rates', code], message: problem });
      else if (code === c.base && rate !== 1) ctx.addIssue({ code: 'custom', path: ['rates', code], message: `${code} is the base currency: its rate is 1` });
    }
  });

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
    /** Unset: monetary scores rank each currency's customers separately. */
    currencies: Currencies.optional(),
  }),
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
