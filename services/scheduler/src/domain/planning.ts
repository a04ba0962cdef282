import { moneyFromMajor, spendByCurrency, toMajorUnits, totalIn, eventDataKind, type CurrencyRates, type MoneyByCurrency, type Normalized, type OccasionKind, type OrderLedger, type Stage, type TemplateOrder } from '@lifecycle/contracts';
import type { Campaign, CampaignSettings, Delay, SendWindow } from './campaign.ts';
import { dueAfterDelay, nextInWindow, nextOccurrence, zoneFor } from './local-time.ts';
import { matchesFilter, propertyAt } from './property-filter.ts';
import { cartData, orderData, recommendationsFor, viewedProductData } from './template-data.ts';
import { assignVariant } from './variants.ts';

/** What the scheduler knows of a customer: its own copy, built from the events it consumes. */
export interface ContactState {
  customerId: string;
  email: string | null;
  firstName: string | null;
  name: string | null;
  locale: string | null;
  timeZone: string | null;
  stage: Stage | null;
  unsubscribed: boolean;
  /** `YYYY-MM-DD` or `--MM-DD`. */
  birthday: string | null;
  /** The customer's calendar dates of their first order and sign-up. */
  firstOrderDate: string | null;
  signupDate: string | null;
  /** Orders, refunds and cancellations: lifetime spend per currency follows (`spendByCurrency`). */
  orders: OrderLedger;
  /** The currency of the latest order. */
  currency: string | null;
  lastOrder: TemplateOrder | null;
}

export type TriggerInput =
  | {
      kind: 'event';
      id: string;
      name: string;
      properties: Record<string, unknown>;
      /** What ingestion derived (amounts in minor units, their currency). */
      normalized?: Pick<Normalized, 'money' | 'orderValue'> | undefined;
      occurredAt: Date;
      historical: boolean;
      /** Lifetime spend per currency (minor units) before and after this event (orders, refunds and cancellations move it). */
      spend?: { before: MoneyByCurrency; after: MoneyByCurrency };
    }
  | { kind: 'stage'; id: string; from: Stage | null; to: Stage; occurredAt: Date; historical: boolean };

/** A message to send later. */
export interface PlannedJob {
  /** Campaign, customer and trigger (or the re-entry rule's unit): planning twice gives the same key. */
  dedupeKey: string;
  campaignId: string;
  customerId: string;
  triggerEventId: string;
  triggerAt: Date;
  /** Trigger properties, for exits matched on a property (`checkout_id`). */
  triggerProps: Record<string, unknown>;
  dueAt: Date;
  category: Campaign['category'];
  variant: string | null;
  /** The trigger's part of the template data; the customer's part is read when the job fires. */
  triggerData: Record<string, unknown>;
}

/** The window a campaign's messages may arrive in: its own, or the store's quiet hours for marketing. */
export function windowFor(campaign: Campaign, settings: CampaignSettings): SendWindow | undefined {
  return campaign.sendWindow ?? (campaign.category === 'marketing' ? settings.defaultSendWindow : undefined);
}

/** When a campaign's message for this trigger time is due: its delay in the customer's zone, moved into its window. */
export function dueTime(campaign: Campaign, settings: CampaignSettings, contact: ContactState, from: Date, delay: Delay = campaign.delay): Date {
  const zone = zoneFor(contact.timeZone, settings.storeTimeZone);
  const due = dueAfterDelay(from, delay, zone);
  const window = windowFor(campaign, settings);
  return window === undefined ? due : nextInWindow(due, window, zone);
}

/** Lifetime spend in a milestone's currency: its own plus what the store's rates convert, never other currencies at face value. */
export function spendIn(spend: MoneyByCurrency, currency: string, rates: CurrencyRates | undefined): number {
  return totalIn(spend, currency, rates).amountMinor;
}

function triggerDataFor(campaign: Campaign, trigger: TriggerInput, contact: ContactState, settings: CampaignSettings, rates: CurrencyRates | undefined): Record<string, unknown> | null {
  // Amounts are shown in the currency they came in; only records from before ingestion named one fall back to the store's.
  const fallback = settings.storeCurrency;
  const lastOrder = contact.lastOrder === null ? {} : { lastOrder: { ...contact.lastOrder, currency: contact.lastOrder.currency ?? fallback } };
  if (trigger.kind === 'stage') return { stage: { from: trigger.from, to: trigger.to }, ...lastOrder };
  if ('milestone' in campaign.trigger) {
    const { currency, lifetimeSpend: threshold } = campaign.trigger.milestone;
    const spend = spendIn(trigger.spend?.after ?? spendByCurrency(contact.orders), currency, rates);
    return { milestone: { lifetimeSpend: toMajorUnits({ amountMinor: spend, currency }), threshold, currency } };
  }
  switch (eventDataKind(trigger.name)) {
    case 'order': {
      const found = orderData(trigger.properties, trigger.normalized, contact.lastOrder, trigger.occurredAt);
      if (found === null) return null;
      const order = { ...found, currency: found.currency ?? fallback };
      // Learned recommendations (no byCategory) are made when the message is due, from the catalog as it is then.
      const byCategory = campaign.recommendations?.byCategory;
      const recommendations = byCategory === undefined ? {} : { recommendations: recommendationsFor({ byCategory, limit: campaign.recommendations?.limit ?? 3 }, order) };
      return { order, ...recommendations };
    }
    case 'cart': {
      const cart = cartData(trigger.properties, trigger.normalized);
      return { cart: { ...cart, currency: cart.currency ?? fallback } };
    }
    case 'product': {
      const product = viewedProductData(trigger.properties, trigger.normalized);
      return product === null ? null : { product: { ...product, currency: product.currency ?? fallback } };
    }
    case 'event':
      return { event: { name: trigger.name, properties: trigger.properties } };
  }
}

/**
 * Whether the trigger starts this campaign (before re-entry rules and data are looked at). A
 * milestone compares only spend in its own currency, plus other currencies `rates` convert.
 */
export function triggers(campaign: Campaign, trigger: TriggerInput, rates?: CurrencyRates): boolean {
  const t = campaign.trigger;
  if (trigger.kind === 'stage') {
    if (!('stage' in t)) return false;
    return 'entered' in t.stage ? trigger.to === t.stage.entered && trigger.from !== t.stage.entered : trigger.from === t.stage.left && trigger.to !== t.stage.left;
  }
  if ('event' in t) return trigger.name === t.event && matchesFilter(t.where, trigger.properties);
  if ('milestone' in t) {
    if (trigger.spend === undefined) return false;
    const threshold = toMinorUnitsOf(t.milestone.lifetimeSpend, t.milestone.currency);
    return spendIn(trigger.spend.before, t.milestone.currency, rates) < threshold && spendIn(trigger.spend.after, t.milestone.currency, rates) >= threshold;
  }
  return false;
}

/** A milestone's threshold in minor units of its currency (checked to be ISO 4217 when the campaign loaded). */
function toMinorUnitsOf(amount: number, currency: string): number {
  return moneyFromMajor(amount, currency)?.amountMinor ?? Number.POSITIVE_INFINITY;
}

/**
 * The jobs an event or stage change starts: one per enabled campaign it triggers whose filters
 * pass and whose re-entry rule allows it. History (old events imported late) starts nothing.
 * `lastEntryAt` gives the customer's latest entry into a campaign, for `reentry: { every }`.
 */
export function planJobs(
  campaigns: readonly Campaign[],
  trigger: TriggerInput,
  contact: ContactState,
  settings: CampaignSettings,
  lastEntryAt: (campaignId: string) => Date | null,
  rates?: CurrencyRates,
): PlannedJob[] {
  if (trigger.historical) return [];
  return campaigns.flatMap((campaign): PlannedJob[] => {
    if (!campaign.enabled || !triggers(campaign, trigger, rates)) return [];
    const reentry = campaign.reentry;
    if (typeof reentry === 'object') {
      const last = lastEntryAt(campaign.id);
      if (last !== null && trigger.occurredAt.getTime() - last.getTime() < reentry.every) return [];
    }
    const triggerData = triggerDataFor(campaign, trigger, contact, settings, rates);
    if (triggerData === null) return [];
    const unit = reentryUnit(campaign, trigger);
    return [
      {
        dedupeKey: `${campaign.id}:${contact.customerId}:${unit}`,
        campaignId: campaign.id,
        customerId: contact.customerId,
        triggerEventId: trigger.id,
        triggerAt: trigger.occurredAt,
        triggerProps: trigger.kind === 'event' ? trigger.properties : {},
        dueAt: dueTime(campaign, settings, contact, trigger.occurredAt),
        category: campaign.category,
        variant: assignVariant(campaign, contact.customerId).variant,
        triggerData,
      },
    ];
  });
}

/** What the re-entry rule allows one message per: this trigger, the order, the customer, the threshold. */
function reentryUnit(campaign: Campaign, trigger: TriggerInput): string {
  if ('milestone' in campaign.trigger) return `milestone-${campaign.trigger.milestone.lifetimeSpend}`;
  if (campaign.reentry === 'once') return 'once';
  if (campaign.reentry === 'perOrder' && trigger.kind === 'event') {
    const orderId = trigger.properties['order_id'];
    if (typeof orderId === 'string' || typeof orderId === 'number') return `order-${orderId}`;
  }
  return trigger.id;
}

function originalDate(kind: OccasionKind, contact: ContactState): string | null {
  switch (kind) {
    case 'birthday':
      return contact.birthday;
    case 'first_order_anniversary':
      return contact.firstOrderDate;
    case 'signup_anniversary':
      return contact.signupDate;
  }
}

/**
 * The next yearly message of a date campaign (birthday, anniversaries) due at or after
 * `notBefore`, or null when the customer has no such date. One job per campaign, customer and year.
 */
export function planOccasion(campaign: Campaign, contact: ContactState, settings: CampaignSettings, notBefore: Date): PlannedJob | null {
  const t = campaign.trigger;
  if (!campaign.enabled || !('date' in t)) return null;
  const original = originalDate(t.date, contact);
  if (original === null) return null;
  const delay = campaign.delay.kind === 'local' ? campaign.delay : { kind: 'local' as const, days: 0, at: '00:00' };
  const zone = zoneFor(contact.timeZone, settings.storeTimeZone);
  // Plan from the occurrence's local midnight so the window and delay apply as for any trigger.
  const occurrence = nextOccurrence(t.date, original, delay, zone, notBefore);
  if (occurrence === null) return null;
  const window = windowFor(campaign, settings);
  const dueAt = window === undefined ? occurrence.dueAt : nextInWindow(occurrence.dueAt, window, zone);
  const occasion = { kind: t.date, date: occurrence.date, ...(occurrence.years !== null ? { years: occurrence.years } : {}) };
  return {
    dedupeKey: `${campaign.id}:${contact.customerId}:${t.date}-${occurrence.year}`,
    campaignId: campaign.id,
    customerId: contact.customerId,
    triggerEventId: `${t.date}:${occurrence.date}`,
    triggerAt: occurrence.dueAt,
    triggerProps: {},
    dueAt,
    category: campaign.category,
    variant: assignVariant(campaign, contact.customerId).variant,
    triggerData: { occasion },
  };
}

/** Whether an exit event cancels a pending job of this campaign (matched on a trigger property when asked). */
export function exitsJob(campaign: Campaign, event: { name: string; properties: Record<string, unknown> }, triggerProps: Record<string, unknown>): boolean {
  return (campaign.exitOn ?? []).some((exit) => {
    if (exit.event !== event.name) return false;
    return Object.entries(exit.match ?? {}).every(([triggerPath, eventPath]) => {
      const expected = propertyAt(triggerProps, triggerPath);
      return expected !== undefined && expected === propertyAt(event.properties, eventPath);
    });
  });
}
