/**
 * Formats an amount in major currency units (as the Segment E-commerce Spec sends totals),
 * e.g. 1234.5 USD in "en" → "$1,234.50". The currency decides the decimals (JPY has none).
 */
export function formatMoney(amount: number, currency: string, locale: string): string {
  if (!Number.isFinite(amount)) throw new TypeError(`money: ${String(amount)} is not an amount`);
  if (!/^[A-Za-z]{3}$/.test(currency)) throw new TypeError(`money: "${currency}" is not an ISO 4217 currency code`);
  return currencyFormat(locale, currency.toUpperCase()).format(amount);
}

/**
 * Building an Intl formatter costs far more than formatting (most of a render, measured): one
 * per locale and currency, kept. Locales come from outside, so the memory is bounded.
 */
const formats = new Map<string, Intl.NumberFormat>();
const FORMATS_LIMIT = 500;

function currencyFormat(locale: string, currency: string): Intl.NumberFormat {
  const key = `${locale}\u0000${currency}`;
  let format = formats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(usableLocale(locale), { style: 'currency', currency });
    if (formats.size >= FORMATS_LIMIT) formats.clear();
    formats.set(key, format);
  }
  return format;
}

/** A customer's locale comes from outside; a malformed tag falls back to English, not to an error. */
function usableLocale(locale: string): string {
  try {
    return Intl.NumberFormat.supportedLocalesOf([locale])[0] ?? 'en';
  } catch {
    return 'en';
  }
}
