import { z } from 'zod';
import type Handlebars from 'handlebars';
import { Money, toMajorUnits } from '@lifecycle/contracts';
import { formatMoney } from './money.ts';

/** What every render passes to helpers through Handlebars' `@data`. */
export const RenderData = z.object({
  locale: z.string(),
  timeZone: z.string().optional(),
  campaignId: z.string().optional(),
  /** Set by `templates:check`: a helper refuses what a send would quietly leave out. */
  strict: z.boolean().optional(),
});
export type RenderData = z.infer<typeof RenderData>;

function renderData(options: Handlebars.HelperOptions): RenderData {
  const parsed = RenderData.safeParse(options.data);
  return parsed.success ? parsed.data : { locale: 'en' };
}

/** A customer's locale and zone come from outside; malformed values fall back instead of failing. */
export function usableLocale(locale: string): string {
  try {
    return Intl.getCanonicalLocales(locale)[0] ?? 'en';
  } catch {
    return 'en';
  }
}

export function usableTimeZone(timeZone: string | undefined): string {
  if (timeZone === undefined) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

function isHelperOptions(value: unknown): value is Handlebars.HelperOptions {
  return typeof value === 'object' && value !== null && 'hash' in value && 'data' in value;
}

const DateStyle = z.enum(['full', 'long', 'medium', 'short']);

/**
 * `{{money amount currency}}` (major units, e.g. `order.total order.currency`) or `{{money value}}`
 * (a money value `{ amountMinor, currency }`), formatted for the message's locale. The currency is
 * only ever the one the amount came with: an amount without one prints nothing when a message is
 * sent (never a guessed currency) and fails `templates:check`.
 */
export function moneyHelper(amount: unknown, currencyOrOptions: unknown, maybeOptions?: Handlebars.HelperOptions): string {
  const options = maybeOptions ?? (isHelperOptions(currencyOrOptions) ? currencyOrOptions : null);
  if (options === null) throw new TypeError('money: called without Handlebars options');
  const { locale, strict } = renderData(options);
  if (maybeOptions === undefined) {
    const money = Money.safeParse(amount);
    if (money.success) return formatMoney(toMajorUnits(money.data), money.data.currency, locale);
    if (amount !== null && typeof amount === 'object' && !('currency' in amount) && strict !== true) return '';
    throw new TypeError('money: expected a money value { amountMinor, currency }, or an amount and its currency');
  }
  const currency = currencyOrOptions;
  if (typeof amount !== 'number') throw new TypeError(`money: expected a number, got ${typeof amount}`);
  if (currency === undefined || currency === null || currency === '') {
    if (strict === true) throw new TypeError('money: the amount has no currency; give the one it is in (e.g. order.currency)');
    return '';
  }
  if (typeof currency !== 'string') throw new TypeError('money: expected an ISO 4217 currency code as second argument');
  return formatMoney(amount, currency, locale);
}

/**
 * `{{date value}}`, `{{date value "short"}}`, `{{date value time=true}}`: an ISO date-time (or
 * epoch ms) in the customer's locale and time zone, so "tomorrow 9:00" means their morning. A
 * calendar day (`2027-07-01`, e.g. `offer.expiresOn`) is already the customer's: shown as that
 * day in any zone (JavaScript reads it as UTC midnight, the day before in New York).
 */
export function dateHelper(value: unknown, styleOrOptions: unknown, maybeOptions?: Handlebars.HelperOptions): string {
  // Handlebars passes its options last, so without a style they arrive second.
  const options = maybeOptions ?? (isHelperOptions(styleOrOptions) ? styleOrOptions : null);
  if (options === null) throw new TypeError('date: called without Handlebars options');
  const style = maybeOptions === undefined ? undefined : styleOrOptions;
  const date = typeof value === 'number' ? new Date(value) : typeof value === 'string' ? new Date(value) : null;
  if (date === null || Number.isNaN(date.getTime())) throw new TypeError(`date: expected an ISO date-time or epoch milliseconds, got ${JSON.stringify(value)}`);
  const dateStyle = DateStyle.safeParse(style ?? 'long');
  if (!dateStyle.success) throw new TypeError('date: the style is one of full, long, medium, short');
  const { locale, timeZone } = renderData(options);
  const calendarDay = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
  const withTime = !calendarDay && z.object({ time: z.literal(true) }).safeParse(options.hash).success;
  return new Intl.DateTimeFormat(usableLocale(locale), {
    dateStyle: dateStyle.data,
    ...(withTime ? { timeStyle: 'short' as const } : {}),
    timeZone: calendarDay ? 'UTC' : usableTimeZone(timeZone),
  }).format(date);
}

const PluralForms = z.object({ other: z.string() }).catchall(z.string());

/**
 * `{{plural count one="# item" other="# items"}}`: the form the locale's plural rules pick
 * (zero, one, two, few, many, other), with `#` replaced by the count in the locale's digits.
 */
export function pluralHelper(count: unknown, options: Handlebars.HelperOptions): string {
  if (typeof count !== 'number') throw new TypeError(`plural: expected a number, got ${typeof count}`);
  const forms = PluralForms.safeParse(options.hash);
  if (!forms.success) throw new TypeError('plural: give at least other="…" (and one="…", few="…" … as the language needs)');
  const { rules, digits } = pluralFormat(renderData(options).locale);
  const category = rules.select(count);
  const form = forms.data[category] ?? forms.data.other;
  return form.replaceAll('#', digits.format(count));
}

/** Intl objects are costly to build and locales few: kept per locale, bounded as locales come from outside. */
const pluralFormats = new Map<string, { rules: Intl.PluralRules; digits: Intl.NumberFormat }>();

function pluralFormat(requested: string): { rules: Intl.PluralRules; digits: Intl.NumberFormat } {
  let format = pluralFormats.get(requested);
  if (format === undefined) {
    const locale = usableLocale(requested);
    format = { rules: new Intl.PluralRules(locale), digits: new Intl.NumberFormat(locale) };
    if (pluralFormats.size >= 500) pluralFormats.clear();
    pluralFormats.set(requested, format);
  }
  return format;
}

/** `{{httpUrl url}}`: the URL when it is http(s), else nothing; escaping alone lets `javascript:` through. */
export function httpUrlHelper(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : '';
  } catch {
    return '';
  }
}

/**
 * `{{byLanguage lang en="Manage preferences" ja="配信設定"}}`: the text for a language tag (the
 * layout's `lang`, else the message's locale), by its first subtag, else the English one. For
 * shared partials, whose words must follow the template variant that includes them.
 */
export function byLanguageHelper(...args: unknown[]): string {
  const options = args.at(-1) as Handlebars.HelperOptions;
  const tag = typeof args[0] === 'string' && args.length > 1 ? args[0] : renderData(options).locale;
  const texts = options.hash as Record<string, unknown>;
  const primary = tag.toLowerCase().split(/[-_]/)[0] ?? 'en';
  const chosen = texts[primary] ?? texts.en;
  return typeof chosen === 'string' ? chosen : '';
}

/**
 * `{{trackLink url}}`: an http(s) link with `utm_source=lifecycle`, `utm_medium=email` and the
 * campaign as `utm_campaign`, keeping any UTM parameters the link already has.
 */
export function trackLinkHelper(value: unknown, options: Handlebars.HelperOptions): string {
  const href = httpUrlHelper(value);
  if (href === '') return '';
  const url = new URL(href);
  const { campaignId } = renderData(options);
  const params: [string, string | undefined][] = [['utm_source', 'lifecycle'], ['utm_medium', 'email'], ['utm_campaign', campaignId]];
  for (const [name, v] of params) if (v !== undefined && !url.searchParams.has(name)) url.searchParams.set(name, v);
  return url.href;
}
