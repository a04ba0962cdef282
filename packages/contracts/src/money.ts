import { z } from 'zod';

/**
 * The money model every service shares: an amount is an integer number of minor units (cents,
 * yen, fils) together with the ISO 4217 code it is in. Amounts in two currencies are never
 * added up; they are converted first, and only with rates the store configured
 * (`currencies` in config/lifecycle.yaml). Segment clients send major units (`19.99`);
 * ingestion turns them into minor units once, at the edge.
 */

/** An amount in integer minor units of an ISO 4217 currency (`{ amountMinor: 1999, currency: 'USD' }` is $19.99). */
export const Money = z.object({
  amountMinor: z.number().int(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code in capitals, such as USD'),
});
export type Money = z.infer<typeof Money>;

/** The currency of amounts sent without one, as ingestion has always assumed (Segment's default). */
export const DEFAULT_CURRENCY = 'USD';

export type MoneyResult<T> = { ok: true; value: T } | { ok: false; message: string };

const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));
// Building an Intl formatter is slow next to validating a call; a few hundred codes exist.
const exponents = new Map<string, number>();

/** Whether a code is an ISO 4217 currency this runtime knows (capitals only). */
export function isCurrencyCode(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && isoCurrencies.has(code);
}

/**
 * How many decimal places the currency's major unit has (USD 2, JPY 0, KWD 3), from the
 * runtime's ISO 4217 data. Undefined for a code that is not ISO 4217.
 */
export function currencyExponent(code: string): number | undefined {
  if (!isCurrencyCode(code)) return undefined;
  let exponent = exponents.get(code);
  if (exponent === undefined) {
    exponent = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    exponents.set(code, exponent);
  }
  return exponent;
}

/** A client's currency code, trimmed and upper-cased, with its exponent; an error for a code that is not ISO 4217. */
export function normalizeCurrency(code: string): MoneyResult<{ code: string; exponent: number }> {
  const upper = code.trim().toUpperCase();
  const exponent = currencyExponent(upper);
  return exponent === undefined ? { ok: false, message: 'expected an ISO 4217 currency code such as USD' } : { ok: true, value: { code: upper, exponent } };
}

/** A major-unit amount as integer minor units, rounded half away from zero (19.99 USD → 1999). */
export function toMinorUnits(amount: number, exponent: number): MoneyResult<number> {
  if (!Number.isFinite(amount)) return { ok: false, message: 'expected a finite number' };
  const scaled = amount * 10 ** exponent;
  const minor = Math.sign(scaled) * Math.round(Math.abs(scaled));
  if (!Number.isSafeInteger(minor)) return { ok: false, message: 'amount is too large' };
  return { ok: true, value: minor === 0 ? 0 : minor };
}

/** A major-unit amount in a currency as money; null when the currency is not ISO 4217 or the amount unusable. */
export function moneyFromMajor(amount: number, currency: string): Money | null {
  const code = normalizeCurrency(currency);
  if (!code.ok) return null;
  const minor = toMinorUnits(amount, code.value.exponent);
  return minor.ok ? { amountMinor: minor.value, currency: code.value.code } : null;
}

/** Money in major units (1999 USD → 19.99), for the Segment-style figures and templates that take them. */
export function toMajorUnits(money: Money): number {
  const exponent = currencyExponent(money.currency) ?? 2;
  // Division by a power of ten gives the nearest double to the decimal, which prints as written.
  return money.amountMinor / 10 ** exponent;
}

/** Sums per currency: `{ JPY: 3200, USD: 4550 }` (minor units). */
export type MoneyByCurrency = Record<string, number>;

/** Adds money into per-currency sums; amounts in different currencies stay apart. */
export function addByCurrency(sums: MoneyByCurrency, money: Money): MoneyByCurrency {
  return { ...sums, [money.currency]: (sums[money.currency] ?? 0) + money.amountMinor };
}

/**
 * Exchange rates the store configures once, in `currencies` of config/lifecycle.yaml: one major
 * unit of each listed currency is worth `rate` major units of `base` (`JPY: 0.0062` with base
 * EUR: ¥1 = €0.0062). A currency without a rate is never converted.
 */
export const CurrencyRates = z
  .strictObject({
    base: z.string().superRefine((code, ctx) => {
      const problem = currencyProblem(code);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    }),
    rates: z.record(z.string(), z.number().positive()).default({}),
  })
  .superRefine((c, ctx) => {
    for (const [code, rate] of Object.entries(c.rates)) {
      const problem = currencyProblem(code);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['rates', code], message: problem });
      else if (code === c.base && rate !== 1) ctx.addIssue({ code: 'custom', path: ['rates', code], message: `${code} is the base currency: its rate is 1` });
    }
  });
export type CurrencyRates = z.infer<typeof CurrencyRates>;

function currencyProblem(code: string): string | null {
  if (!/^[A-Z]{3}$/.test(code)) return 'expected an ISO 4217 code in capitals, such as EUR';
  return isoCurrencies.has(code) ? null : 'not an ISO 4217 currency code';
}

/** Major units of the base per major unit of the currency; undefined when it has no rate. */
function rateOf(currency: string, rates: CurrencyRates): number | undefined {
  return currency === rates.base ? 1 : rates.rates[currency];
}

/**
 * Money in another currency with the configured rates (rounded half away from zero to the
 * target's minor unit); the same money when the currency already matches; null when either
 * currency has no rate, since amounts must not be mixed without one.
 */
export function convertMoney(money: Money, to: string, rates: CurrencyRates | undefined): Money | null {
  if (money.currency === to) return money;
  if (rates === undefined) return null;
  const from = rateOf(money.currency, rates);
  const target = rateOf(to, rates);
  const toExponent = currencyExponent(to);
  if (from === undefined || target === undefined || toExponent === undefined) return null;
  const minor = toMinorUnits((toMajorUnits(money) * from) / target, toExponent);
  return minor.ok ? { amountMinor: minor.value, currency: to } : null;
}

/**
 * Per-currency sums as one amount in `currency`: its own sum plus every other currency the rates
 * convert; currencies without a rate are left out (never added at face value).
 */
export function totalIn(sums: MoneyByCurrency, currency: string, rates: CurrencyRates | undefined): Money {
  let amountMinor = 0;
  for (const [code, minor] of Object.entries(sums)) {
    const converted = convertMoney({ amountMinor: minor, currency: code }, currency, rates);
    if (converted !== null) amountMinor += converted.amountMinor;
  }
  return { amountMinor, currency };
}

/**
 * Where the rates are read from: the top-level `currencies` of config/lifecycle.yaml. The
 * classifier's RFM used to take them under `rfm.currencies`; that spelling is still read.
 * Loose, so a service reading only the rates ignores the rest of the file (the classifier
 * checks that strictly).
 */
export const CurrencyConfigFile = z.looseObject({
  currencies: CurrencyRates.optional(),
  rfm: z.looseObject({ currencies: CurrencyRates.optional() }).optional(),
});

/** The store's rates from the parsed config file, or an error when they are given in both places. */
export function ratesFromConfig(file: z.infer<typeof CurrencyConfigFile>): MoneyResult<CurrencyRates | undefined> {
  const top = file.currencies;
  const old = file.rfm?.currencies;
  if (top !== undefined && old !== undefined) return { ok: false, message: 'rates are given twice: keep `currencies` and remove `rfm.currencies`' };
  return { ok: true, value: top ?? old };
}
