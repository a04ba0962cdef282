import { z } from 'zod';
import { isCurrencyCode, OccasionKind, Stage, TemplateProduct } from '@lifecycle/contracts';
import { parseDuration } from './duration.ts';

const Duration = z.string().transform((text, ctx) => {
  const parsed = parseDuration(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  }
  return parsed.ms;
});

const Kebab = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes');
const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'write a local time as HH:MM, e.g. 09:00');

/** `{ total: { gte: 100 } }`, `{ currency: USD }`: compared with the trigger event's properties. */
const Comparison = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z
    .strictObject({
      eq: z.union([z.string(), z.number(), z.boolean()]).optional(),
      ne: z.union([z.string(), z.number(), z.boolean()]).optional(),
      gt: z.number().optional(),
      gte: z.number().optional(),
      lt: z.number().optional(),
      lte: z.number().optional(),
      in: z.array(z.union([z.string(), z.number()])).optional(),
      exists: z.boolean().optional(),
    })
    .refine((c) => Object.keys(c).length > 0, 'give at least one of eq, ne, gt, gte, lt, lte, in, exists'),
]);
export type Comparison = z.infer<typeof Comparison>;
export const PropertyFilter = z.record(z.string(), Comparison);
export type PropertyFilter = z.infer<typeof PropertyFilter>;

export const Trigger = z.union([
  z.strictObject({ event: z.string().min(1), where: PropertyFilter.optional() }),
  z.strictObject({
    stage: z.union([z.strictObject({ entered: Stage }), z.strictObject({ left: Stage })]),
  }),
  /** A yearly date of the customer's; 29 February falls on 28 February in other years. */
  z.strictObject({ date: OccasionKind }),
  /**
   * Lifetime spend reaching a threshold with an order. The threshold is in major units of its
   * `currency` and compared only with spend in that currency (plus other currencies the store's
   * rates convert); a store selling in several currencies writes one campaign per currency.
   */
  z.strictObject({
    milestone: z.strictObject({
      lifetimeSpend: z.number().positive(),
      currency: z.string({ error: 'a milestone needs the currency its threshold is in, e.g. currency: USD' }).refine(isCurrencyCode, 'an ISO 4217 code in capitals, such as USD or JPY'),
    }),
  }),
  /** From the product catalog: a consumable due again (by its learned reorder interval) after an order. */
  z.strictObject({ catalog: z.literal('replenishment') }),
  /** A product the customer showed interest in (viewed, carted, wishlisted) within `lookbackDays` is back in stock. */
  z.strictObject({ catalog: z.literal('back_in_stock'), lookbackDays: z.number().int().min(1).max(366).default(30) }),
  /** Its price in a currency fell by at least `minDropPercent`. */
  z.strictObject({ catalog: z.literal('price_drop'), lookbackDays: z.number().int().min(1).max(366).default(30), minDropPercent: z.number().min(0).max(100).default(5) }),
  /**
   * A customer who has not opened or clicked for the sunset's `after` (`_settings.yaml`): the
   * re-permission mail. Planned by the scheduler itself, never by an event.
   */
  z.strictObject({ engagement: z.literal('inactive') }),
]);
export type Trigger = z.infer<typeof Trigger>;

/** A duration after the trigger (`P7D`, `2h`), or a local time N days after it (`{ days: 2, at: '10:00' }`). */
export const Delay = z.union([
  Duration.transform((ms) => ({ kind: 'duration' as const, ms })),
  z.strictObject({ days: z.number().int().min(0).max(3660), at: LocalTime }).transform((d) => ({ kind: 'local' as const, ...d })),
]);
export type Delay = z.infer<typeof Delay>;

const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export type Weekday = z.infer<typeof Weekday>;

/** When messages may arrive, in the customer's local time; `to` may pass midnight (`21:00`–`02:00`). */
export const SendWindow = z
  .strictObject({ from: LocalTime, to: LocalTime, days: z.array(Weekday).min(1).optional() })
  .refine((w) => w.from !== w.to, 'from and to must differ');
export type SendWindow = z.infer<typeof SendWindow>;

export const Conditions = z.strictObject({
  /** Skip when any of these events happened after the trigger (still no second order). */
  noEventSince: z.array(z.string().min(1)).min(1).optional(),
  /** Skip unless the customer is still in one of these stages. */
  stageIn: z.array(Stage).min(1).optional(),
});
export type Conditions = z.infer<typeof Conditions>;

/** An event that cancels pending jobs; `match` pairs a trigger property with the exit event's property. */
export const Exit = z.strictObject({ event: z.string().min(1), match: z.record(z.string(), z.string()).optional() });
export type Exit = z.infer<typeof Exit>;

export const Reentry = z.union([
  /** One message per trigger (per order, per checkout): the default. */
  z.literal('perTrigger'),
  /** One message per order (`order_id` of the trigger): a repeated or second event for the same order sends nothing more. */
  z.literal('perOrder'),
  /** Once per customer, ever. */
  z.literal('once'),
  /** At most one entry per customer in this period. */
  z.strictObject({ every: Duration }),
]);
export type Reentry = z.infer<typeof Reentry>;

export const Variant = z.strictObject({ id: Kebab, weight: z.number().int().min(0), template: Kebab.optional() });
export type Variant = z.infer<typeof Variant>;

/** A recommended product (cross-sell): a price is only shown with the currency it is in. */
const RecommendedProduct = TemplateProduct.superRefine((p, ctx) => {
  if (p.currency !== undefined && !isCurrencyCode(p.currency)) ctx.addIssue({ code: 'custom', path: ['currency'], message: 'an ISO 4217 code in capitals, such as USD or JPY' });
  else if (p.price !== undefined && p.currency === undefined) ctx.addIssue({ code: 'custom', path: ['currency'], message: 'a price needs the currency it is in, e.g. currency: USD' });
});

/** Keys of fixed template data that hold an amount of money (`price`, `minimumSpend`, `giftAmount`). */
const moneyKey = /^(price|amount|total|subtotal|value|discount|minimumSpend|minSpend)$|(Price|Amount|Total|Spend)$/;

/**
 * Priced data in `data`/`localizedData` (an offer's `amount`, a gift's `price`): every object
 * holding an amount must say which currency it is in (`currency` beside it), so no template
 * ever shows it in another one.
 */
function pricedDataIssues(value: unknown, path: (string | number)[]): { path: (string | number)[]; message: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => pricedDataIssues(v, [...path, i]));
  if (typeof value !== 'object' || value === null) return [];
  const entries = Object.entries(value);
  const issues = entries.flatMap(([k, v]) => pricedDataIssues(v, [...path, k]));
  const amounts = entries.filter(([k, v]) => typeof v === 'number' && moneyKey.test(k)).map(([k]) => k);
  if (amounts.length === 0) return issues;
  const currency: unknown = Reflect.get(value, 'currency');
  if (currency === undefined) issues.push(...amounts.map((k) => ({ path: [...path, k], message: `an amount needs the currency it is in: add currency (e.g. currency: USD) beside ${k}` })));
  else if (typeof currency !== 'string' || !isCurrencyCode(currency)) issues.push({ path: [...path, 'currency'], message: 'an ISO 4217 code in capitals, such as USD or JPY' });
  return issues;
}

const reservedDataKeys = ['customer', 'campaign', 'order', 'cart', 'product', 'stage', 'lastOrder', 'occasion', 'milestone', 'event', 'recommendations', 'offer'];

/**
 * A coupon per message from a pool messaging keeps (`campaigns/_coupons.yaml`): messaging hands
 * out the code. `percent`, or `amount` with `currency`: what the code is worth, for the mail.
 */
export const Offer = z
  .strictObject({
    pool: Kebab,
    expiresInDays: z.number().int().min(1).max(366),
    percent: z.number().min(0).max(100).optional(),
    amount: z.number().positive().optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code in capitals, such as USD or JPY').optional(),
  })
  .superRefine((o, ctx) => {
    if (o.percent !== undefined && o.amount !== undefined) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'an offer is worth a percent or an amount, not both' });
    if (o.amount !== undefined && o.currency === undefined) ctx.addIssue({ code: 'custom', path: ['currency'], message: 'an amount needs the currency it is in, e.g. currency: USD' });
    if (o.currency !== undefined && o.amount === undefined) ctx.addIssue({ code: 'custom', path: ['currency'], message: 'currency goes with amount' });
  });
export type Offer = z.infer<typeof Offer>;

/** A campaign as marketers write it in `campaigns/<id>.yaml`. */
export const Campaign = z
  .strictObject({
    id: Kebab,
    name: z.string().min(1),
    enabled: z.boolean().default(true),
    /** A folder under templates/. */
    template: Kebab,
    /** A/B test: each customer gets one variant for good, by a stable hash of their id. */
    variants: z.array(Variant).min(2).optional(),
    category: z.enum(['transactional', 'marketing']),
    /** Marketing only: one of the topics in `_consent.yaml`; customers who left it are skipped. */
    topic: Kebab.optional(),
    /** A stable share of the campaign's eligible customers get no mail and are measured against the mailed (lift). */
    holdout: z.strictObject({ percent: z.number().min(0).max(100) }).optional(),
    trigger: Trigger,
    /** How long after the trigger the message is due. */
    delay: Delay.default({ kind: 'duration', ms: 0 }),
    /** Checked again when the message is due. */
    conditions: Conditions.optional(),
    exitOn: z.array(Exit).optional(),
    /** Marketing campaigns fall back to the store's default window; transactional ones send at any hour unless given one. */
    sendWindow: SendWindow.optional(),
    reentry: Reentry.default('perTrigger'),
    /** A message this late (after downtime) is skipped and recorded as stale. */
    staleAfter: Duration.optional(),
    /** The event that counts as a conversion, within this long of the send. */
    goal: z.strictObject({ event: z.string().min(1), within: Duration }).optional(),
    /** A code of its own per message from a coupon pool (messaging's); the template gets it as `offer`. */
    offer: Offer.optional(),
    /** Fixed data for the template (an offer code, a survey link). */
    data: z.record(z.string(), z.unknown()).optional(),
    /** Translations of `data` by language (`ja`), laid over it for customers with that locale. */
    localizedData: z.record(z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)*$/, 'a lower-case locale such as ja or pt-br'), z.record(z.string(), z.unknown())).optional(),
    /**
     * Products to suggest: learned from the catalog (`{ limit: 3 }`), or listed by the category of
     * what was bought (`byCategory`, `default` for any) for a store without order history.
     */
    recommendations: z
      .strictObject({ byCategory: z.record(z.string(), z.array(RecommendedProduct)).optional(), limit: z.number().int().min(1).max(12).default(3) })
      .optional(),
  })
  .superRefine((c, ctx) => {
    for (const issue of [...pricedDataIssues(c.data ?? {}, ['data']), ...pricedDataIssues(c.localizedData ?? {}, ['localizedData'])]) ctx.addIssue({ code: 'custom', ...issue });
    for (const key of Object.keys(c.data ?? {})) {
      if (reservedDataKeys.includes(key)) ctx.addIssue({ code: 'custom', path: ['data', key], message: `"${key}" is filled in by the scheduler; choose another name` });
    }
    for (const [locale, overrides] of Object.entries(c.localizedData ?? {})) {
      for (const key of Object.keys(overrides)) {
        if (!Object.hasOwn(c.data ?? {}, key)) ctx.addIssue({ code: 'custom', path: ['localizedData', locale, key], message: `translates "${key}", which data does not have` });
      }
    }
    if (c.variants !== undefined) {
      const ids = c.variants.map((v) => v.id);
      if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'variant ids must differ' });
      if (c.variants.every((v) => v.weight === 0)) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'at least one variant needs a weight above 0' });
    }
    if (c.topic !== undefined && c.category !== 'marketing') ctx.addIssue({ code: 'custom', path: ['topic'], message: 'only marketing campaigns have a topic; transactional mail goes whatever the customer chose' });
    if (c.holdout !== undefined && c.category !== 'marketing') ctx.addIssue({ code: 'custom', path: ['holdout'], message: 'only marketing campaigns can hold customers out; transactional mail always goes' });
    if ('engagement' in c.trigger && c.category !== 'marketing') ctx.addIssue({ code: 'custom', path: ['category'], message: 'the re-permission campaign (engagement: inactive) is marketing' });
    if ('date' in c.trigger && c.delay.kind === 'duration' && c.delay.ms > 0) {
      ctx.addIssue({ code: 'custom', path: ['delay'], message: 'a date trigger takes { days, at } (a local time), not a duration' });
    }
    if (c.reentry === 'perOrder' && !('event' in c.trigger && c.trigger.event.startsWith('Order '))) {
      ctx.addIssue({ code: 'custom', path: ['reentry'], message: 'perOrder needs a trigger on an Order event (Order Completed, Order Delivered …)' });
    }
    if (c.recommendations?.byCategory !== undefined && !('event' in c.trigger && c.trigger.event === 'Order Completed')) {
      ctx.addIssue({ code: 'custom', path: ['recommendations', 'byCategory'], message: 'recommendations by category need an Order Completed trigger; leave byCategory out to learn them from the catalog' });
    }
  });
export type Campaign = z.infer<typeof Campaign>;

/** Store-wide settings in `campaigns/_settings.yaml`. */
export const CampaignSettings = z.strictObject({
  /** The zone for customers who have none (IANA name). */
  storeTimeZone: z.string().default('UTC'),
  /** The currency of amounts that arrive without one (ISO 4217), so prices always render. */
  storeCurrency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD or EUR').default('USD'),
  /** Quiet hours, as the window marketing messages may arrive in. */
  defaultSendWindow: SendWindow.optional(),
  /** At most `max` marketing messages per customer per rolling `per`; transactional ones are exempt. */
  frequencyCap: z.strictObject({ max: z.number().int().min(1), per: Duration }).optional(),
  /** A message due longer ago than this is skipped as stale, unless its campaign says otherwise. */
  staleAfter: Duration.prefault('P3D'),
  /** Events that reached Kafka this much later than they happened are history: they start no campaign. */
  historicalAfter: Duration.prefault('P7D'),
  /**
   * A stable share of customers (by a hash of their id) who get no marketing mail at all: the
   * control group that measures the whole programme. 0: everyone is mailed.
   */
  globalControl: z.strictObject({ percent: z.number().min(0).max(100) }).default({ percent: 0 }),
  /**
   * Marketing stops for customers with no open or click for `after`, once they were sent
   * `campaign` (the re-permission mail) and did not open or click it within `grace`. Off when absent.
   */
  sunset: z.strictObject({ after: Duration, grace: Duration, campaign: Kebab }).optional(),
});
export type CampaignSettings = z.infer<typeof CampaignSettings>;
