import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { knownEventProperties } from '@lifecycle/contracts';
import { demoCatalog } from './store-catalog.ts';
import { demoCustomers } from './store-customers.ts';
import { seededRandom } from './seeded-random.ts';
import { demoDays, localInstant, newCustomerState, reactToMail, type DemoCall, type DemoMail } from './store-simulation.ts';

const START = '2027-01-01';

function year(seed: number, count = 60): DemoCall[] {
  const random = seededRandom(seed);
  const customers = demoCustomers(random, count, 365);
  return [...demoDays(random, customers, START, 365)].flatMap((d) => d.calls);
}

const localHour = (at: Date, zone: string): number => Number(new Intl.DateTimeFormat('en-US', { timeZone: zone, hour: 'numeric', hourCycle: 'h23' }).format(at));

describe('local instants', () => {
  it('puts a local time in the customer’s zone, summer and winter', () => {
    expect(localInstant('2027-01-04', 9, 0, 'America/New_York')).toEqual(new Date('2027-01-04T14:00:00.000Z'));
    expect(localInstant('2027-07-05', 9, 0, 'America/New_York')).toEqual(new Date('2027-07-05T13:00:00.000Z'));
    expect(localInstant('2027-07-05', 9, 30, 'Europe/Berlin')).toEqual(new Date('2027-07-05T07:30:00.000Z'));
    expect(localInstant('2027-02-28', 9, 0, 'Asia/Tokyo')).toEqual(new Date('2027-02-28T00:00:00.000Z'));
  });
});

describe('the demo store’s year', () => {
  const calls = year(7);
  const customers = demoCustomers(seededRandom(7), 60, 365);
  const byId = new Map(customers.map((c) => [c.customerId, c]));

  it('is the same year for the same seed, and another for another seed', () => {
    expect(year(7)).toEqual(calls);
    expect(year(8)).not.toEqual(calls);
  });

  it('has customers in three locales with their zones and currencies, and a store that sells', () => {
    expect(new Set(customers.map((c) => `${c.locale} ${c.currency}`))).toEqual(new Set(['en-US USD', 'de-DE EUR', 'ja-JP JPY']));
    const events = new Map<string, number>();
    for (const c of calls) if (c.type === 'track') events.set(c.event, (events.get(c.event) ?? 0) + 1);
    for (const event of ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Order Delivered', 'Product Reviewed']) expect(events.get(event) ?? 0, event).toBeGreaterThan(0);
    // Carts are abandoned more often than not, as in a real store.
    expect(events.get('Checkout Started') ?? 0).toBeGreaterThan(events.get('Order Completed') ?? 0);
  });

  it('sends only calls the event contracts accept', () => {
    for (const call of calls) {
      if (call.type !== 'track') continue;
      const schema = new Map<string, z.ZodType>(Object.entries(knownEventProperties)).get(call.event);
      expect(schema, call.event).toBeDefined();
      expect(schema?.safeParse(call.properties).success, `${call.event} ${JSON.stringify(call.properties)}`).toBe(true);
    }
  });

  it('prices each order in its customer’s currency, the total the sum of its lines at the catalog’s price', () => {
    const orders = calls.flatMap((c) => (c.type === 'track' && c.event === 'Order Completed' ? [c] : []));
    expect(orders.length).toBeGreaterThan(10);
    for (const order of orders) {
      const customer = byId.get(order.customerId);
      const lines = z.array(z.object({ sku: z.string(), price: z.number() })).parse(order.properties['products']);
      expect(order.properties['currency']).toBe(customer?.currency);
      for (const l of lines) expect(l.price).toBe(demoCatalog.find((p) => p.sku === l.sku)?.price[customer?.currency ?? 'USD']);
      expect(order.properties['total']).toBeCloseTo(lines.reduce((s, l) => s + l.price, 0), 2);
    }
  });

  it('delivers each order after it was placed, and keeps each customer’s calls in their waking hours', () => {
    const placed = new Map<string, Date>();
    for (const call of calls) {
      if (call.type === 'track' && call.event === 'Order Completed') placed.set(String(call.properties['order_id']), call.at);
      if (call.type === 'track' && call.event === 'Order Delivered') expect(call.at.getTime()).toBeGreaterThan(placed.get(String(call.properties['order_id']))?.getTime() ?? Infinity);
      const hour = localHour(call.at, byId.get(call.customerId)?.timeZone ?? 'UTC');
      expect(hour, `${call.customerId} at ${call.at.toISOString()}`).toBeGreaterThanOrEqual(8);
    }
  });

  it('identifies each customer once, before anything else they do', () => {
    const seen = new Set<string>();
    for (const call of calls) {
      if (call.type === 'identify') {
        expect(seen.has(call.customerId)).toBe(false);
        seen.add(call.customerId);
      } else expect(seen.has(call.customerId), call.customerId).toBe(true);
    }
  });
});

describe('how demo customers answer mail', () => {
  const [customer] = demoCustomers(seededRandom(3), 1, 365);
  if (customer === undefined) throw new Error('no customer');
  const mail = (campaignId: string, category: DemoMail['category'] = 'marketing'): DemoMail => ({ customerId: customer.customerId, campaignId, category, sentAt: new Date('2027-03-01T15:00:00.000Z') });
  const keen = { ...customer, mailAffinity: 1 };

  it('never answers marketing mail once unsubscribed, and opens an order’s own mail most often', () => {
    const state = { ...newCustomerState(), unsubscribed: true };
    const r = seededRandom(1);
    for (let i = 0; i < 200; i++) expect(reactToMail(keen, state, mail('cross-sell'), 59, r).openedAt).toBeNull();
    let opened = 0;
    for (let i = 0; i < 1000; i++) if (reactToMail(keen, state, mail('post-purchase-thank-you', 'transactional'), 59, r).openedAt !== null) opened++;
    expect(opened).toBeGreaterThan(850);
  });

  it('answers the NPS survey with a score, after opening it', () => {
    const r = seededRandom(2);
    const answers = Array.from({ length: 300 }, () => reactToMail(keen, { ...newCustomerState(), orders: 2 }, mail('nps-survey'), 59, r)).flatMap((x) => x.calls);
    expect(answers.length).toBeGreaterThan(50);
    for (const a of answers) {
      expect(a).toMatchObject({ type: 'track', event: 'NPS Survey Answered' });
      expect(a.at.getTime()).toBeGreaterThan(new Date('2027-03-01T15:00:00.000Z').getTime());
    }
  });

  it('brings some quiet customers back after a win-back they clicked, the next day', () => {
    const r = seededRandom(4);
    let back = 0;
    for (let i = 0; i < 300; i++) {
      const state = { ...newCustomerState(), engaged: false };
      const reaction = reactToMail(keen, state, mail('win-back-lapsed'), 59, r);
      if (state.engaged) {
        expect(reaction.clickedAt).not.toBeNull();
        expect(state.returnOnDay).toBe(60);
        back++;
      }
    }
    expect(back).toBeGreaterThan(20);
  });
});
