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
