import { emptyLedger } from '@lifecycle/contracts';
import { describe, expect, it } from 'vitest';
import { Campaign, CampaignSettings } from './campaign.ts';
import { exitsJob, planJobs, planOccasion, windowFor, type ContactState, type TriggerInput } from './planning.ts';
import { assignVariant } from './variants.ts';

const settings = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin' });
const withQuietHours = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin', defaultSendWindow: { from: '09:00', to: '20:00' } });

function contact(overrides: Partial<ContactState> = {}): ContactState {
  return {
    customerId: 'cust-1',
    email: 'ada@example.com',
    firstName: 'Ada',
    name: 'Ada Lovelace',
    locale: 'en',
    timeZone: 'Europe/Berlin',
    stage: 'retention',
    unsubscribed: false,
    birthday: null,
    firstOrderDate: null,
    signupDate: null,
    orders: emptyLedger(),
    currency: 'EUR',
    lastOrder: null,
    ...overrides,
  };
}

function event(id: string, name: string, properties: Record<string, unknown>, occurredAt = '2026-11-20T10:00:00Z', extra: Partial<Extract<TriggerInput, { kind: 'event' }>> = {}): TriggerInput {
  return { kind: 'event', id, name, properties, occurredAt: new Date(occurredAt), historical: false, ...extra };
}

function stageChange(id: string, from: ContactState['stage'], to: NonNullable<ContactState['stage']>, occurredAt = '2026-11-20T10:00:00Z'): TriggerInput {
  return { kind: 'stage', id, from, to, occurredAt: new Date(occurredAt), historical: false };
}

const neverEntered = (): Date | null => null;
const iso = (d: Date | undefined) => d?.toISOString();

/** As a marketer writes it in campaigns/big-order-thanks.yaml. */
const bigOrderThanksYaml = {
  id: 'big-order-thanks',
  name: 'Thanks for a big order',
  template: 'big-order-thanks',
  category: 'transactional',
  trigger: { event: 'Order Completed', where: { total: { gte: 100 } } },
};
const bigOrderThanks = Campaign.parse(bigOrderThanksYaml);

describe('event triggers', () => {
  it('plans a message for an order of 100 and nothing for one of 99', () => {
    const planned = planJobs([bigOrderThanks], event('evt-1', 'Order Completed', { order_id: 'o-1', total: 100, currency: 'EUR' }), contact(), settings, neverEntered);
    expect(planned).toEqual([
      {
        dedupeKey: 'big-order-thanks:cust-1:evt-1',
        campaignId: 'big-order-thanks',
        customerId: 'cust-1',
        triggerEventId: 'evt-1',
        triggerAt: new Date('2026-11-20T10:00:00Z'),
        triggerProps: { order_id: 'o-1', total: 100, currency: 'EUR' },
        dueAt: new Date('2026-11-20T10:00:00Z'),
        category: 'transactional',
        variant: null,
        triggerData: { order: { orderId: 'o-1', total: 100, currency: 'EUR', products: [], placedAt: '2026-11-20T10:00:00.000Z' } },
      },
    ]);
    expect(planJobs([bigOrderThanks], event('evt-2', 'Order Completed', { order_id: 'o-2', total: 99 }), contact(), settings, neverEntered)).toEqual([]);
  });

  it('plans nothing for an event of another name', () => {
    expect(planJobs([bigOrderThanks], event('evt-1', 'Order Refunded', { order_id: 'o-1', total: 150 }), contact(), settings, neverEntered)).toEqual([]);
  });

  it('starts nothing for history (old events imported late)', () => {
    const old = event('evt-1', 'Order Completed', { order_id: 'o-1', total: 150 }, '2026-11-20T10:00:00Z', { historical: true });
    expect(planJobs([bigOrderThanks], old, contact(), settings, neverEntered)).toEqual([]);
  });

  it('starts nothing from a disabled campaign', () => {
    const disabled = Campaign.parse({ ...bigOrderThanksYaml, enabled: false });
    expect(planJobs([disabled], event('evt-1', 'Order Completed', { order_id: 'o-1', total: 150 }), contact(), settings, neverEntered)).toEqual([]);
  });

  it('plans one job per campaign the event triggers', () => {
    const anyOrder = Campaign.parse({ id: 'order-confirmation', name: 'Order confirmation', template: 'order-confirmation', category: 'transactional', trigger: { event: 'Order Completed' } });
    const planned = planJobs([bigOrderThanks, anyOrder], event('evt-1', 'Order Completed', { order_id: 'o-1', total: 40 }), contact(), settings, neverEntered);
    expect(planned.map((j) => j.dedupeKey)).toEqual(['order-confirmation:cust-1:evt-1']);
  });

  it('gives the customer their A/B variant on the job', () => {
    const ab = Campaign.parse({
      id: 'cart-abandonment',
      name: 'Cart abandonment',
      template: 'cart-abandonment',
      category: 'marketing',
      trigger: { event: 'Checkout Started' },
      variants: [
        { id: 'direct', weight: 50 },
        { id: 'gentle', weight: 50, template: 'cart-abandonment-reminder' },
      ],
    });
    const [job] = planJobs([ab], event('evt-1', 'Checkout Started', { checkout_id: '42' }), contact(), settings, neverEntered);
    expect(job?.variant).toBe(assignVariant(ab, 'cust-1').variant);
    expect(['direct', 'gentle']).toContain(job?.variant);
  });
});

describe('stage triggers', () => {
  const enteredAtRisk = Campaign.parse({ id: 'win-back', name: 'Win-back', template: 'win-back', category: 'marketing', trigger: { stage: { entered: 'at_risk' } } });
  const leftAtRisk = Campaign.parse({ id: 'welcome-back', name: 'Welcome back', template: 'welcome-back', category: 'marketing', trigger: { stage: { left: 'at_risk' } } });

  it('fires "entered at_risk" on a move into at_risk only', () => {
    expect(planJobs([enteredAtRisk], stageChange('sc-1', 'retention', 'at_risk'), contact(), settings, neverEntered).map((j) => j.dedupeKey)).toEqual(['win-back:cust-1:sc-1']);
    expect(planJobs([enteredAtRisk], stageChange('sc-2', null, 'at_risk'), contact(), settings, neverEntered)).toHaveLength(1);
    expect(planJobs([enteredAtRisk], stageChange('sc-3', 'at_risk', 'lapsed'), contact(), settings, neverEntered)).toEqual([]);
    expect(planJobs([enteredAtRisk], stageChange('sc-4', 'at_risk', 'at_risk'), contact(), settings, neverEntered)).toEqual([]);
  });

  it('fires "left at_risk" on a move out of at_risk only', () => {
    expect(planJobs([leftAtRisk], stageChange('sc-1', 'at_risk', 'retention'), contact(), settings, neverEntered).map((j) => j.dedupeKey)).toEqual(['welcome-back:cust-1:sc-1']);
    expect(planJobs([leftAtRisk], stageChange('sc-2', 'retention', 'at_risk'), contact(), settings, neverEntered)).toEqual([]);
    expect(planJobs([leftAtRisk], stageChange('sc-3', 'retention', 'advocacy'), contact(), settings, neverEntered)).toEqual([]);
  });

  it('is not started by events', () => {
    expect(planJobs([enteredAtRisk], event('evt-1', 'Order Completed', { order_id: 'o-1', total: 10 }), contact({ stage: 'at_risk' }), settings, neverEntered)).toEqual([]);
  });

  it('starts nothing for a historical stage change', () => {
    const old: TriggerInput = { kind: 'stage', id: 'sc-1', from: 'retention', to: 'at_risk', occurredAt: new Date('2026-11-20T10:00:00Z'), historical: true };
    expect(planJobs([enteredAtRisk], old, contact(), settings, neverEntered)).toEqual([]);
  });

  it('carries the stage move and the customer’s last order for the template', () => {
    const lastOrder = { orderId: 'o-9', total: 64, currency: 'EUR', products: [{ name: 'Gooseneck Kettle', quantity: 1, price: 64 }], placedAt: '2026-08-01T12:00:00.000Z' };
    const [withOrder] = planJobs([enteredAtRisk], stageChange('sc-1', 'retention', 'at_risk'), contact({ lastOrder }), settings, neverEntered);
    expect(withOrder?.triggerData).toEqual({ stage: { from: 'retention', to: 'at_risk' }, lastOrder });
    expect(withOrder?.triggerProps).toEqual({});
    const [withoutOrder] = planJobs([enteredAtRisk], stageChange('sc-1', null, 'at_risk'), contact(), settings, neverEntered);
    expect(withoutOrder?.triggerData).toEqual({ stage: { from: null, to: 'at_risk' } });
  });
});

describe('re-entry', () => {
  const browse = (reentry: unknown) =>
    Campaign.parse({ id: 'browse', name: 'Browse abandonment', template: 'browse', category: 'marketing', trigger: { event: 'Product Viewed' }, reentry });
  const viewed = (id: string, occurredAt = '2026-11-20T10:00:00Z') => event(id, 'Product Viewed', { product_id: 'p-1', name: 'Kettle', price: 49 }, occurredAt);

  it('perTrigger (the default) gives each trigger its own job', () => {
    const keys = ['evt-1', 'evt-2'].flatMap((id) => planJobs([browse('perTrigger')], viewed(id), contact(), settings, neverEntered).map((j) => j.dedupeKey));
    expect(keys).toEqual(['browse:cust-1:evt-1', 'browse:cust-1:evt-2']);
    const byDefault = Campaign.parse({ id: 'browse', name: 'Browse abandonment', template: 'browse', category: 'marketing', trigger: { event: 'Product Viewed' } });
    expect(planJobs([byDefault], viewed('evt-3'), contact(), settings, neverEntered)[0]?.dedupeKey).toBe('browse:cust-1:evt-3');
  });

  it('once gives one key per customer, so the second trigger adds no job', () => {
    const keys = ['evt-1', 'evt-2'].flatMap((id) => planJobs([browse('once')], viewed(id), contact(), settings, neverEntered).map((j) => j.dedupeKey));
    expect(keys).toEqual(['browse:cust-1:once', 'browse:cust-1:once']);
  });

  it('perOrder gives one key per order: a second delivery event of the same order adds no job', () => {
    const reviews = Campaign.parse({ id: 'review', name: 'Review', template: 'review', category: 'marketing', trigger: { event: 'Order Delivered' }, reentry: 'perOrder' });
    const delivered = (id: string, orderId: string) => event(id, 'Order Delivered', { order_id: orderId });
    const keys = [delivered('evt-1', 'o-1'), delivered('evt-2', 'o-1'), delivered('evt-3', 'o-2')].flatMap((e) => planJobs([reviews], e, contact(), settings, neverEntered).map((j) => j.dedupeKey));
    expect(keys).toEqual(['review:cust-1:order-o-1', 'review:cust-1:order-o-1', 'review:cust-1:order-o-2']);
    expect(() => browse('perOrder')).toThrow(/perOrder needs a trigger on an Order event/);
  });

  it('every P30D refuses an entry 10 days after the last and allows one 31 days after', () => {
    const monthly = browse({ every: 'P30D' });
    const asked: string[] = [];
    const lastEntry = (days: number) => (campaignId: string) => {
      asked.push(campaignId);
      return new Date(new Date('2026-11-20T10:00:00Z').getTime() - days * 86_400_000);
    };
    expect(planJobs([monthly], viewed('evt-1'), contact(), settings, lastEntry(10))).toEqual([]);
    expect(planJobs([monthly], viewed('evt-2'), contact(), settings, lastEntry(31)).map((j) => j.dedupeKey)).toEqual(['browse:cust-1:evt-2']);
    expect(planJobs([monthly], viewed('evt-3'), contact(), settings, neverEntered)).toHaveLength(1);
    expect(asked).toEqual(['browse', 'browse']);
  });
});

describe('lifetime-spend milestones', () => {
  const vip = Campaign.parse({ id: 'vip', name: 'VIP', template: 'vip', category: 'marketing', trigger: { milestone: { lifetimeSpend: 500, currency: 'USD' } } });
  const vipYen = Campaign.parse({ id: 'vip-jpy', name: 'VIP', template: 'vip', category: 'marketing', trigger: { milestone: { lifetimeSpend: 75_000, currency: 'JPY' } } });
  /** Spend in minor units per currency before and after the order. */
  const order = (id: string, before: Record<string, number>, after: Record<string, number>) => event(id, 'Order Completed', { order_id: `o-${id}` }, '2026-11-20T10:00:00Z', { spend: { before, after } });
  const usd = (before: number, after: number) => order('evt-1', { USD: before * 100 }, { USD: after * 100 });

  it('fires only when an order takes spend in its currency from below the threshold to at or above it', () => {
    const fires = (before: number, after: number) => planJobs([vip], usd(before, after), contact(), settings, neverEntered).length === 1;
    expect(fires(450, 520)).toBe(true);
    expect(fires(450, 500)).toBe(true);
    expect(fires(400, 499.99)).toBe(false);
    expect(fires(500, 600)).toBe(false);
    expect(fires(520, 530)).toBe(false);
  });

  it('never compares spend in another currency with the threshold', () => {
    // ¥3,200 is not "past 500": the dollar milestone does not see yen at all.
    expect(planJobs([vip], order('evt-1', {}, { JPY: 3200 }), contact(), settings, neverEntered)).toEqual([]);
    expect(planJobs([vip], order('evt-1', { USD: 45_000 }, { USD: 45_000, JPY: 80_000 }), contact(), settings, neverEntered)).toEqual([]);
    expect(planJobs([vipYen], order('evt-1', { JPY: 70_000 }, { JPY: 80_000 }), contact(), settings, neverEntered)).toHaveLength(1);
  });

  it('converts other currencies only with the store’s rates', () => {
    const rates = { base: 'USD', rates: { JPY: 0.0067 } };
    // $450 + ¥10,000 (= $67) crosses $500 once yen can be converted.
    const crossing = order('evt-1', { USD: 45_000 }, { USD: 45_000, JPY: 10_000 });
    expect(planJobs([vip], crossing, contact(), settings, neverEntered, rates)).toHaveLength(1);
    expect(planJobs([vip], crossing, contact(), settings, neverEntered)).toEqual([]);
    const [job] = planJobs([vip], crossing, contact(), settings, neverEntered, rates);
    expect(job?.triggerData).toEqual({ milestone: { lifetimeSpend: 517, threshold: 500, currency: 'USD' } });
  });

  it('does not fire without spend figures (a stage change)', () => {
    expect(planJobs([vip], stageChange('sc-1', 'conversion', 'retention'), contact(), settings, neverEntered)).toEqual([]);
  });

  it('keys every crossing of the same threshold alike, so a refund and re-crossing sends no second message', () => {
    const first = planJobs([vip], usd(450, 520), contact(), settings, neverEntered);
    const again = planJobs([vip], usd(480, 510), contact(), settings, neverEntered);
    expect(first.map((j) => j.dedupeKey)).toEqual(['vip:cust-1:milestone-500']);
    expect(again.map((j) => j.dedupeKey)).toEqual(['vip:cust-1:milestone-500']);
  });

  it('tells the template the spend and threshold in the milestone’s currency, whatever the customer’s last order was in', () => {
    const [job] = planJobs([vipYen], order('evt-1', { JPY: 70_000, USD: 999 }, { JPY: 76_400, USD: 999 }), contact({ currency: 'EUR' }), settings, neverEntered);
    expect(job?.triggerData).toEqual({ milestone: { lifetimeSpend: 76_400, threshold: 75_000, currency: 'JPY' } });
  });

  it('refuses a milestone without a currency, naming the field', () => {
    const parsed = Campaign.safeParse({ id: 'vip', name: 'VIP', template: 'vip', category: 'marketing', trigger: { milestone: { lifetimeSpend: 500 } } });
    expect(parsed.success).toBe(false);
  });
});

describe('due time', () => {
  const ordered = (occurredAt: string) => event('evt-1', 'Order Completed', { order_id: 'o-1', total: 30 }, occurredAt);

  it('adds the delay, then waits for the campaign’s window to open in the customer’s zone', () => {
    const reviewRequest = Campaign.parse({
      id: 'review-request',
      name: 'Review request',
      template: 'review-request',
      category: 'marketing',
      trigger: { event: 'Order Completed' },
      delay: 'P7D',
      sendWindow: { from: '09:00', to: '20:00' },
    });
    // 22:30 in New York on 19 Nov; a week later is 22:30 on 26 Nov → 09:00 EST on 27 Nov.
    const [job] = planJobs([reviewRequest], ordered('2026-11-20T03:30:00Z'), contact({ timeZone: 'America/New_York' }), settings, neverEntered);
    expect(iso(job?.dueAt)).toBe('2026-11-27T14:00:00.000Z');
    expect(iso(job?.triggerAt)).toBe('2026-11-20T03:30:00.000Z');
  });

  it('lands "2 days later at 10:00" on the customer’s calendar', () => {
    const tips = Campaign.parse({ id: 'tips', name: 'Tips', template: 'tips', category: 'marketing', trigger: { event: 'Order Completed' }, delay: { days: 2, at: '10:00' } });
    // 23:30 on 20 Nov in Tokyo → 10:00 JST on 22 Nov.
    const [job] = planJobs([tips], ordered('2026-11-20T14:30:00Z'), contact({ timeZone: 'Asia/Tokyo' }), settings, neverEntered);
    expect(iso(job?.dueAt)).toBe('2026-11-22T01:00:00.000Z');
  });

  it('uses the store’s zone for a customer without one (or with one that is not a zone)', () => {
    const early = Campaign.parse({
      id: 'early',
      name: 'Early',
      template: 'early',
      category: 'marketing',
      trigger: { event: 'Order Completed' },
      delay: { days: 1, at: '08:00' },
      sendWindow: { from: '09:00', to: '20:00' },
    });
    // 08:00 in Berlin on 21 Nov is before the window: 09:00 CET = 08:00 UTC.
    for (const timeZone of [null, 'Mars/Olympus']) {
      const [job] = planJobs([early], ordered('2026-11-20T10:00:00Z'), contact({ timeZone }), settings, neverEntered);
      expect(iso(job?.dueAt)).toBe('2026-11-21T08:00:00.000Z');
    }
    const [tokyo] = planJobs([early], ordered('2026-11-20T10:00:00Z'), contact({ timeZone: 'Asia/Tokyo' }), settings, neverEntered);
    expect(iso(tokyo?.dueAt)).toBe('2026-11-21T00:00:00.000Z');
  });

  it('holds marketing without a window of its own to the store’s quiet hours, and sends transactional at once', () => {
    const marketing = Campaign.parse({ id: 'thanks', name: 'Thanks', template: 'thanks', category: 'marketing', trigger: { event: 'Order Completed' } });
    const transactional = Campaign.parse({ id: 'receipt', name: 'Receipt', template: 'receipt', category: 'transactional', trigger: { event: 'Order Completed' } });
    // 23:00 in Berlin.
    const planned = planJobs([marketing, transactional], ordered('2026-11-20T22:00:00Z'), contact(), withQuietHours, neverEntered);
    expect(planned.map((j) => [j.campaignId, iso(j.dueAt)])).toEqual([
      ['thanks', '2026-11-21T08:00:00.000Z'],
      ['receipt', '2026-11-20T22:00:00.000Z'],
    ]);
    expect(windowFor(marketing, withQuietHours)).toEqual({ from: '09:00', to: '20:00' });
    expect(windowFor(transactional, withQuietHours)).toBeUndefined();
  });

  it('prefers a campaign’s own window over the store’s', () => {
    const evening = Campaign.parse({
      id: 'evening',
      name: 'Evening',
      template: 'evening',
      category: 'marketing',
      trigger: { event: 'Order Completed' },
      sendWindow: { from: '18:00', to: '22:00' },
    });
    // 11:00 in Berlin → 18:00 CET the same day.
    const [job] = planJobs([evening], ordered('2026-11-20T10:00:00Z'), contact(), withQuietHours, neverEntered);
    expect(iso(job?.dueAt)).toBe('2026-11-20T17:00:00.000Z');
  });
});

describe('trigger data for the template', () => {
  const on = (name: string, extra: Record<string, unknown> = {}) =>
    Campaign.parse({ id: 'c', name: 'C', template: 'c', category: 'marketing', trigger: { event: name }, ...extra });

  it('gives an Order Completed campaign the order and cross-sell picks in the order’s currency, never what was bought', () => {
    const crossSell = on('Order Completed', {
      recommendations: {
        limit: 2,
        byCategory: {
          Brewing: [
            { name: 'Gooseneck Kettle', sku: 'KETTLE-GN-1', price: 49, currency: 'EUR' },
            { name: 'Paper Filters', sku: 'FILT-100', price: 800, currency: 'JPY' },
            { name: 'Paper Filters', sku: 'FILT-100', price: 5.95, currency: 'EUR' },
            { name: 'Beans, Ethiopia', sku: 'BEAN-ETH-250', price: 14.5, currency: 'EUR' },
          ],
          default: [{ name: 'Stoneware Mug', sku: 'MUG-STONE', price: 18, currency: 'EUR' }],
        },
      },
    });
    const properties = {
      order_id: 'o-1',
      total: 49,
      currency: 'EUR',
      products: [{ product_id: 'p-7', sku: 'KETTLE-GN-1', name: 'Gooseneck Kettle', price: 49, quantity: 1, category: 'Brewing' }],
    };
    const [job] = planJobs([crossSell], event('evt-1', 'Order Completed', properties), contact(), settings, neverEntered);
    expect(job?.triggerData).toEqual({
      order: {
        orderId: 'o-1',
        total: 49,
        currency: 'EUR',
        products: [{ name: 'Gooseneck Kettle', quantity: 1, price: 49, sku: 'KETTLE-GN-1', productId: 'p-7', category: 'Brewing' }],
        placedAt: '2026-11-20T10:00:00.000Z',
      },
      recommendations: [
        { name: 'Paper Filters', sku: 'FILT-100', price: 5.95, currency: 'EUR' },
        { name: 'Beans, Ethiopia', sku: 'BEAN-ETH-250', price: 14.5, currency: 'EUR' },
      ],
    });
  });

  it('plans no order message for an order event without an order id', () => {
    expect(planJobs([on('Order Completed')], event('evt-1', 'Order Completed', { total: 49 }), contact(), settings, neverEntered)).toEqual([]);
  });

  it('gives a Checkout Started campaign the cart', () => {
    const properties = { checkout_id: '42', cart_id: 'cart-9', value: 80, currency: 'EUR', products: [{ sku: 'MUG-STONE', name: 'Stoneware Mug', price: 18, quantity: 2 }] };
    const [job] = planJobs([on('Checkout Started')], event('evt-1', 'Checkout Started', properties), contact(), settings, neverEntered);
    expect(job?.triggerData).toEqual({
      cart: { checkoutId: '42', cartId: 'cart-9', total: 80, currency: 'EUR', products: [{ name: 'Stoneware Mug', quantity: 2, price: 18, sku: 'MUG-STONE' }] },
    });
    expect(job?.triggerProps).toEqual(properties);
  });

  it('gives a Product Viewed campaign the product', () => {
    const properties = { product_id: 'p-7', sku: 'KETTLE-GN-1', name: 'Gooseneck Kettle', price: 49, currency: 'EUR', url: 'https://shop.example.com/kettle', image_url: 'https://shop.example.com/kettle.jpg' };
    const [job] = planJobs([on('Product Viewed')], event('evt-1', 'Product Viewed', properties), contact(), settings, neverEntered);
    expect(job?.triggerData).toEqual({
      product: {
        name: 'Gooseneck Kettle',
        price: 49,
        sku: 'KETTLE-GN-1',
        productId: 'p-7',
        url: 'https://shop.example.com/kettle',
        imageUrl: 'https://shop.example.com/kettle.jpg',
        currency: 'EUR',
      },
    });
  });

  it('gives any other event its name and properties', () => {
    const [job] = planJobs([on('Signed Up')], event('evt-1', 'Signed Up', { method: 'google' }), contact(), settings, neverEntered);
    expect(job?.triggerData).toEqual({ event: { name: 'Signed Up', properties: { method: 'google' } } });
  });
});

describe('yearly dates', () => {
  const birthday = Campaign.parse({
    id: 'birthday',
    name: 'Birthday',
    template: 'birthday',
    category: 'marketing',
    trigger: { date: 'birthday' },
    delay: { days: 0, at: '09:00' },
  });
  const anniversary = Campaign.parse({
    id: 'first-order-anniversary',
    name: 'First order anniversary',
    template: 'anniversary',
    category: 'marketing',
    trigger: { date: 'first_order_anniversary' },
    delay: { days: 0, at: '10:00' },
  });
  const notBefore = new Date('2026-11-23T00:00:00Z');

  it('greets a 29 February birthday on 28 February 2027 at 09:00 the customer’s time', () => {
    expect(planOccasion(birthday, contact({ birthday: '1992-02-29' }), withQuietHours, notBefore)).toEqual({
      dedupeKey: 'birthday:cust-1:birthday-2027',
      campaignId: 'birthday',
      customerId: 'cust-1',
      triggerEventId: 'birthday:2027-02-28',
      triggerAt: new Date('2027-02-28T08:00:00Z'),
      triggerProps: {},
      dueAt: new Date('2027-02-28T08:00:00Z'),
      category: 'marketing',
      variant: null,
      triggerData: { occasion: { kind: 'birthday', date: '2027-02-28' } },
    });
  });

  it('greets on 29 February in a leap year', () => {
    const job = planOccasion(birthday, contact({ birthday: '1992-02-29' }), settings, new Date('2027-03-01T00:00:00Z'));
    expect(job?.triggerData).toEqual({ occasion: { kind: 'birthday', date: '2028-02-29' } });
    expect(job?.dedupeKey).toBe('birthday:cust-1:birthday-2028');
  });

  it('counts the years since the first order', () => {
    const job = planOccasion(anniversary, contact({ firstOrderDate: '2024-03-14' }), settings, notBefore);
    expect(job?.dedupeKey).toBe('first-order-anniversary:cust-1:first_order_anniversary-2027');
    expect(job?.triggerData).toEqual({ occasion: { kind: 'first_order_anniversary', date: '2027-03-14', years: 3 } });
    // 10:00 CET on 14 March 2027.
    expect(iso(job?.dueAt)).toBe('2027-03-14T09:00:00.000Z');
  });

  it('uses the store’s zone when the customer has none', () => {
    const job = planOccasion(birthday, contact({ birthday: '--06-02', timeZone: null }), settings, notBefore);
    // 09:00 CEST on 2 June 2027.
    expect(iso(job?.dueAt)).toBe('2027-06-02T07:00:00.000Z');
  });

  it('plans nothing for a customer without the date, a disabled campaign or an event campaign', () => {
    expect(planOccasion(birthday, contact({ birthday: null }), settings, notBefore)).toBeNull();
    expect(planOccasion(anniversary, contact({ birthday: '1992-02-29', firstOrderDate: null }), settings, notBefore)).toBeNull();
    const disabled = Campaign.parse({ id: 'birthday', name: 'Birthday', template: 'birthday', category: 'marketing', trigger: { date: 'birthday' }, enabled: false });
    expect(planOccasion(disabled, contact({ birthday: '1992-02-29' }), settings, notBefore)).toBeNull();
    expect(planOccasion(bigOrderThanks, contact({ birthday: '1992-02-29' }), settings, notBefore)).toBeNull();
  });

  it('holds a date campaign without a time to the store’s quiet hours', () => {
    const untimed = Campaign.parse({ id: 'signup-anniversary', name: 'Signup anniversary', template: 'signup', category: 'marketing', trigger: { date: 'signup_anniversary' } });
    const job = planOccasion(untimed, contact({ signupDate: '2025-12-01' }), withQuietHours, notBefore);
    // Midnight on 1 December 2026 in Berlin waits for 09:00 CET.
    expect(iso(job?.dueAt)).toBe('2026-12-01T08:00:00.000Z');
    expect(iso(job?.triggerAt)).toBe('2026-11-30T23:00:00.000Z');
    expect(job?.triggerData).toEqual({ occasion: { kind: 'signup_anniversary', date: '2026-12-01', years: 1 } });
  });
});

describe('exit events', () => {
  const cartAbandonment = Campaign.parse({
    id: 'cart-abandonment',
    name: 'Cart abandonment',
    template: 'cart-abandonment',
    category: 'marketing',
    trigger: { event: 'Checkout Started' },
    delay: 'PT1H',
    exitOn: [{ event: 'Order Completed', match: { checkout_id: 'checkout_id' } }],
  });

  it('cancels the reminder for checkout 42 only with the order of checkout 42', () => {
    const pending = { checkout_id: '42' };
    expect(exitsJob(cartAbandonment, { name: 'Order Completed', properties: { order_id: 'o-1', checkout_id: '42' } }, pending)).toBe(true);
    expect(exitsJob(cartAbandonment, { name: 'Order Completed', properties: { order_id: 'o-2', checkout_id: '43' } }, pending)).toBe(false);
    expect(exitsJob(cartAbandonment, { name: 'Order Completed', properties: { order_id: 'o-3' } }, pending)).toBe(false);
    expect(exitsJob(cartAbandonment, { name: 'Order Refunded', properties: { order_id: 'o-1', checkout_id: '42' } }, pending)).toBe(false);
  });

  it('does not pair a trigger without the property with an order without it', () => {
    expect(exitsJob(cartAbandonment, { name: 'Order Completed', properties: { order_id: 'o-1' } }, {})).toBe(false);
  });

  it('cancels on any such event when the exit names no match', () => {
    const browse = Campaign.parse({
      id: 'browse',
      name: 'Browse abandonment',
      template: 'browse',
      category: 'marketing',
      trigger: { event: 'Product Viewed' },
      exitOn: [{ event: 'Order Completed' }, { event: 'Checkout Started' }],
    });
    expect(exitsJob(browse, { name: 'Order Completed', properties: { order_id: 'o-1' } }, { product_id: 'p-1' })).toBe(true);
    expect(exitsJob(browse, { name: 'Checkout Started', properties: {} }, { product_id: 'p-1' })).toBe(true);
    expect(exitsJob(browse, { name: 'Product Viewed', properties: { product_id: 'p-1' } }, { product_id: 'p-1' })).toBe(false);
  });

  it('never cancels a campaign without exits', () => {
    expect(exitsJob(bigOrderThanks, { name: 'Order Completed', properties: { order_id: 'o-1' } }, {})).toBe(false);
  });
});
