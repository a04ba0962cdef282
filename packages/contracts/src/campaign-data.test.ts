import { describe, expect, it } from 'vitest';
import { CampaignTemplateUse, templateDataSchema, templatesOf } from './campaign-data.ts';

describe('the data a template may use', () => {
  const crossSell = CampaignTemplateUse.parse({
    id: 'cross-sell',
    name: 'Cross-sell',
    template: 'cross-sell',
    category: 'marketing',
    trigger: { event: 'Order Completed' },
    delay: { days: 10, at: '10:00' },
    recommendations: { byCategory: { default: [{ name: 'Stoneware Mug', sku: 'MUG-STONE' }] } },
    data: { offer: { code: 'THANKS10', percent: 10 } },
  });
  const sample = {
    customer: { id: 'cust-1', email: 'ada@example.com', firstName: 'Ada' },
    campaign: { id: 'cross-sell' },
    order: { orderId: 'o-1', total: 67, currency: 'EUR', products: [{ name: 'Gooseneck Kettle', quantity: 1, price: 49 }], placedAt: '2026-11-01T10:00:00.000Z' },
    recommendations: [{ name: 'Stoneware Mug', sku: 'MUG-STONE' }],
    offer: { code: 'THANKS10', percent: 10 },
  };

  it('accepts a correct sample, with or without the campaign', () => {
    expect(templateDataSchema(crossSell).safeParse(sample).success).toBe(true);
    const { campaign: _campaign, ...withoutCampaign } = sample;
    expect(templateDataSchema(crossSell).safeParse(withoutCampaign).success).toBe(true);
  });

  it('rejects a misspelt variable (order.totl) and names it', () => {
    const result = templateDataSchema(crossSell).safeParse({ ...sample, order: { ...sample.order, totl: 67 } });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['totl'], path: ['order'] })]);
  });

  it('rejects data the campaign never provides, and a sample missing the campaign’s fixed data', () => {
    expect(templateDataSchema(crossSell).safeParse({ ...sample, cart: { products: [] } }).success).toBe(false);
    expect(templateDataSchema(crossSell).safeParse({ ...sample, offer: { code: 'THANKS10', percent: 10, expires: '2027-01-01' } }).success).toBe(false);
    const { offer: _offer, ...withoutOffer } = sample;
    expect(templateDataSchema(crossSell).safeParse(withoutOffer).success).toBe(false);
  });

  it('gives stage campaigns the stage move and, optionally, the last order', () => {
    const winBack = CampaignTemplateUse.parse({ id: 'win-back', name: 'Win-back', template: 'win-back', category: 'marketing', trigger: { stage: { entered: 'at_risk' } } });
    const customer = { id: 'cust-1', email: 'ada@example.com' };
    const schema = templateDataSchema(winBack);
    expect(schema.safeParse({ customer, stage: { from: 'retention', to: 'at_risk' } }).success).toBe(true);
    expect(schema.safeParse({ customer, stage: { from: null, to: 'at_risk' }, lastOrder: sample.order }).success).toBe(true);
    expect(schema.safeParse({ customer, stage: { from: 'retention', to: 'at_risk' }, order: sample.order }).success).toBe(false);
  });

  it('gives date campaigns the occasion and milestone campaigns the milestone', () => {
    const customer = { id: 'cust-1', email: 'ada@example.com' };
    const birthday = CampaignTemplateUse.parse({ id: 'birthday', name: 'Birthday', template: 'birthday', category: 'marketing', trigger: { date: 'birthday' }, delay: { days: 0, at: '09:00' } });
    expect(templateDataSchema(birthday).safeParse({ customer, occasion: { kind: 'birthday', date: '2027-02-28' } }).success).toBe(true);
    const vip = CampaignTemplateUse.parse({ id: 'vip', name: 'VIP', template: 'vip', category: 'marketing', trigger: { milestone: { lifetimeSpend: 500, currency: 'EUR' } } });
    expect(templateDataSchema(vip).safeParse({ customer, milestone: { lifetimeSpend: 520, threshold: 500, currency: 'EUR' } }).success).toBe(true);
    expect(templateDataSchema(vip).safeParse({ customer, occasion: { kind: 'birthday', date: '2027-02-28' } }).success).toBe(false);
  });
});

describe('the data of offers, recommendations and catalog triggers', () => {
  const customer = { id: 'cust-1', email: 'ada@example.com' };
  const offer = { code: 'BDAY-7K2M9QX4TZ8P', expiresAt: '2027-07-02T03:59:59.999Z', expiresOn: '2027-07-01', percent: 15 };

  it('gives a campaign with an offer the customer’s own code and its expiry (added by messaging), and no other campaign', () => {
    const birthday = CampaignTemplateUse.parse({ id: 'birthday', template: 'birthday', trigger: { date: 'birthday' }, offer: { pool: 'birthday', expiresInDays: 30, percent: 15 } });
    const schema = templateDataSchema(birthday);
    const occasion = { kind: 'birthday', date: '2027-06-01' };
    expect(schema.safeParse({ customer, occasion, offer }).success).toBe(true);
    expect(schema.safeParse({ customer, occasion, offer: { code: 'GIFT-X', expiresAt: '2027-07-02T03:59:59.999Z', expiresOn: '2027-07-01', amount: 10, currency: 'USD' } }).success).toBe(true);
    // The scheduler's request carries none yet: messaging adds it when it sends.
    expect(schema.safeParse({ customer, occasion }).success).toBe(true);
    // The shared code of old (`expiresInDays`, no expiry date) is not what the customer gets now.
    expect(schema.safeParse({ customer, occasion, offer: { code: 'BIRTHDAY15', percent: 15, expiresInDays: 30 } }).success).toBe(false);
    const withoutOffer = CampaignTemplateUse.parse({ id: 'birthday', template: 'birthday', trigger: { date: 'birthday' } });
    expect(templateDataSchema(withoutOffer).safeParse({ customer, occasion, offer }).success).toBe(false);
  });

  it('gives recommendations, with why each was picked, to any trigger that asks for them', () => {
    const winBack = CampaignTemplateUse.parse({ id: 'win-back-lapsed', template: 'win-back-lapsed', trigger: { stage: { entered: 'lapsed' } }, recommendations: { limit: 3 } });
    const schema = templateDataSchema(winBack);
    const stage = { from: 'at_risk', to: 'lapsed' };
    const mug = { name: 'Stoneware Mug', productId: 'MUG-STONE', price: 2700, currency: 'JPY', reason: 'favourite' };
    expect(schema.safeParse({ customer, stage, recommendations: [mug] }).success).toBe(true);
    expect(schema.safeParse({ customer, stage, recommendations: [] }).success).toBe(true);
    expect(schema.safeParse({ customer, stage, recommendations: [{ ...mug, reason: 'because' }] }).success).toBe(false);
    const { currency: _currency, ...withoutCurrency } = mug;
    expect(schema.safeParse({ customer, stage, recommendations: [withoutCurrency] }).success).toBe(false);
    const browse = CampaignTemplateUse.parse({ id: 'browse-abandonment', template: 'browse-abandonment', trigger: { event: 'Product Viewed' }, recommendations: { limit: 3 } });
    const product = { name: 'Gooseneck Kettle', productId: 'KETTLE-GN-1', price: 49, currency: 'USD' };
    expect(templateDataSchema(browse).safeParse({ customer, product, recommendations: [{ ...mug, reason: 'alternative' }] }).success).toBe(true);
  });

  it('gives a replenishment the product with when it was last ordered and how often', () => {
    const replenishment = CampaignTemplateUse.parse({ id: 'replenishment-reminder', template: 'replenishment-reminder', trigger: { catalog: 'replenishment' } });
    const schema = templateDataSchema(replenishment);
    const product = { name: 'House Espresso Blend 500 g', productId: 'BEAN-ESP-500', price: 24, currency: 'EUR', lastOrderedAt: '2027-02-01T10:00:00.000Z', intervalDays: 30 };
    expect(schema.safeParse({ customer, product }).success).toBe(true);
    const { intervalDays: _interval, ...withoutInterval } = product;
    expect(schema.safeParse({ customer, product: withoutInterval }).success).toBe(false);
    expect(schema.safeParse({ customer, product: { ...product, previousPrice: 26 } }).success).toBe(false);
  });

  it('gives back-in-stock and price-drop mail the product with its previous price', () => {
    for (const trigger of [{ catalog: 'back_in_stock', lookbackDays: 30 }, { catalog: 'price_drop', lookbackDays: 30, minDropPercent: 5 }]) {
      const schema = templateDataSchema(CampaignTemplateUse.parse({ id: 'x', template: 'x', trigger }));
      const product = { name: 'Burr Hand Grinder', productId: 'GRIND-HAND-01', price: 58, previousPrice: 65, currency: 'USD' };
      expect(schema.safeParse({ customer, product }).success).toBe(true);
      expect(schema.safeParse({ customer, product: { ...product, intervalDays: 30 } }).success).toBe(false);
      expect(schema.safeParse({ customer, product, order: { orderId: 'o-1', products: [] } }).success).toBe(false);
    }
  });

  it('refuses a catalog trigger it does not know', () => {
    expect(CampaignTemplateUse.safeParse({ id: 'x', template: 'x', trigger: { catalog: 'restock' } }).success).toBe(false);
  });
});

describe('a campaign file read for its templates', () => {
  it('names the templates of the campaign and of its variants, once each', () => {
    const abTest = CampaignTemplateUse.parse({
      id: 'cart-abandonment',
      template: 'cart-abandonment',
      trigger: { event: 'Checkout Started' },
      variants: [{ id: 'control', weight: 1 }, { id: 'gentle', weight: 1, template: 'cart-abandonment-reminder' }, { id: 'again', weight: 1, template: 'cart-abandonment' }],
    });
    expect(templatesOf(abTest)).toEqual(['cart-abandonment', 'cart-abandonment-reminder']);
  });

  it('refuses a file without a template or a trigger', () => {
    expect(CampaignTemplateUse.safeParse({ id: 'x', trigger: { event: 'Order Completed' } }).success).toBe(false);
    expect(CampaignTemplateUse.safeParse({ id: 'x', template: 'x', trigger: { when: 'always' } }).success).toBe(false);
  });
});
