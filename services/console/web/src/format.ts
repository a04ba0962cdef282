/** Number formatting for the console: Intl everywhere, money always in its own currency. */

const locale = typeof navigator === 'undefined' ? 'en-US' : navigator.language;

const integerFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const decimalFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });
const dayFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
const monthFormat = new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' });

/** What a missing figure shows: no data is not zero. */
export const NONE = '—';

export function formatInteger(n: number | null | undefined): string {
  return n === null || n === undefined ? NONE : integerFormat.format(n);
}

export function formatDecimal(n: number | null | undefined): string {
  return n === null || n === undefined ? NONE : decimalFormat.format(n);
}

/** A ratio 0..1 as a percentage. */
export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? NONE : percentFormat.format(ratio);
}

const moneyFormats = new Map<string, (n: number) => string>();
function moneyFormat(currency: string): (n: number) => string {
  let format = moneyFormats.get(currency);
  if (format === undefined) {
    try {
      const intl = new Intl.NumberFormat(locale, { style: 'currency', currency });
      format = (n) => intl.format(n);
    } catch {
      // An unknown code still shows with its code rather than as a bare number.
      format = (n) => `${decimalFormat.format(n)} ${currency}`;
    }
    moneyFormats.set(currency, format);
  }
  return format;
}

/** An amount in major units of its currency (12.5, 'EUR' → €12.50). */
export function formatMoney(amountMajor: number | null | undefined, currency: string): string {
  return amountMajor === null || amountMajor === undefined ? NONE : moneyFormat(currency)(amountMajor);
}

/** An axis tick in a currency: whole units, compact when large (€1.2K). */
export function formatMoneyAxis(amountMajor: number, currency: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 }).format(amountMajor);
  } catch {
    return `${decimalFormat.format(amountMajor)} ${currency}`;
  }
}

/** An amount in integer minor units of its currency (1250, 'EUR' → €12.50; 1250, 'JPY' → ¥1,250). */
export function formatMoneyMinor(amountMinor: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // unknown code: assume cents
  }
  return formatMoney(amountMinor / 10 ** digits, currency);
}

function toDate(iso: string): Date | null {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return NONE;
  const d = toDate(iso);
  return d === null ? iso : `${dateTimeFormat.format(d)} UTC`;
}

export function formatDay(iso: string): string {
  const d = toDate(iso);
  return d === null ? iso : dayFormat.format(d);
}

export function formatMonth(iso: string): string {
  const d = toDate(iso);
  return d === null ? iso : monthFormat.format(d);
}

const pointsFormat = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: 'exceptZero' });

/** A difference of two rates (0.04) in percentage points, signed: "+4.0 pp". */
export function formatPoints(difference: number | null | undefined): string {
  return difference === null || difference === undefined ? NONE : `${pointsFormat.format(difference * 100)} pp`;
}

const signedPercentFormat = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' });

/** A relative change (0.5) as a signed percentage: "+50%". */
export function formatSignedPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? NONE : signedPercentFormat.format(ratio);
}
