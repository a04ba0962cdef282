import { describe, expect, it } from 'vitest';
import type { TemplateOrder } from '@lifecycle/contracts';
import { cartData, orderData, recommendationsFor } from './template-data.ts';

const completed: TemplateOrder = {
  orderId: 'o-1',
  total: 67,
  currency: 'EUR',
  products: [
    { name: 'Gooseneck Kettle', quantity: 1, price: 49, sku: 'KETTLE-GN-1', productId: 'p-7', category: 'Brewing' },
    { name: 'Stoneware Mug', quantity: 1, price: 18, sku: 'MUG-STONE', category: 'Cups' },
  ],
  placedAt: '2026-11-01T10:00:00.000Z',
};

describe('order data', () => {
  it('fills the lines, total and placing time of an Order Delivered that carries only the order id', () => {
    expect(orderData({ order_id: 'o-1' }, undefined, completed, new Date('2026-11-04T15:00:00Z'))).toEqual(completed);
  });

  it('keeps what the later event does say over the known order', () => {
    expect(orderData({ order_id: 'o-1', total: 49, products: [{ name: 'Gooseneck Kettle', sku: 'KETTLE-GN-1', price: 49, quantity: 1 }] }, undefined, completed, new Date('2026-11-04T15:00:00Z'))).toEqual({
      orderId: 'o-1',
      total: 49,
      currency: 'EUR',
      products: [{ name: 'Gooseneck Kettle', quantity: 1, price: 49, sku: 'KETTLE-GN-1' }],
      placedAt: '2026-11-01T10:00:00.000Z',
    });
  });

  it('borrows nothing from a different known order', () => {
    expect(orderData({ order_id: 'o-2' }, undefined, completed, new Date('2026-11-04T15:00:00Z'))).toEqual({ orderId: 'o-2', products: [], placedAt: '2026-11-04T15:00:00.000Z' });
    expect(orderData({ order_id: 'o-2' }, undefined, completed, null)).toEqual({ orderId: 'o-2', products: [] });
  });

  it('reads an Order Completed as the E-commerce Spec sends it', () => {
    const properties = {
      order_id: 1001,
      revenue: 45,
      currency: 'USD',
      products: [{ product_id: 'p-1', sku: 'SKU-1', name: 'Beans', price: 15, quantity: 3, category: 'Coffee', url: 'https://shop.example.com/beans', image_url: 'https://shop.example.com/beans.jpg' }, { sku: 'SKU-2' }, { price: 3 }, 'junk'],
    };
    expect(orderData(properties, undefined, null, new Date('2026-11-20T10:00:00Z'))).toEqual({
      orderId: '1001',
      total: 45,
      currency: 'USD',
      products: [
        { name: 'Beans', quantity: 3, price: 15, sku: 'SKU-1', productId: 'p-1', category: 'Coffee', url: 'https://shop.example.com/beans', imageUrl: 'https://shop.example.com/beans.jpg' },
        { name: 'SKU-2', sku: 'SKU-2' },
      ],
      placedAt: '2026-11-20T10:00:00.000Z',
    });
  });

  it('takes the order’s value by the shared rule: total over revenue, in the minor units and currency ingestion gave', () => {
    expect(orderData({ order_id: 'o-7', total: 50, revenue: 40, currency: 'EUR' }, undefined, null, null)).toMatchObject({ total: 50, currency: 'EUR' });
    const normalized = { money: { currency: 'JPY', amounts: { total: 3200 } } };
    expect(orderData({ order_id: 'o-8', total: 3200, currency: 'jpy' }, normalized, null, null)).toMatchObject({ total: 3200, currency: 'JPY' });
  });

  it('is no order without an order id', () => {
    expect(orderData({ total: 10 }, undefined, completed, null)).toBeNull();
    expect(orderData({ order_id: '' }, undefined, completed, null)).toBeNull();
  });
});

describe('cart data', () => {
  it('takes a checkout’s id, value and lines', () => {
    expect(cartData({ checkout_id: 42, value: 18, currency: 'EUR', products: [{ name: 'Stoneware Mug', price: 18 }] })).toEqual({
      checkoutId: '42',
      total: 18,
      currency: 'EUR',
      products: [{ name: 'Stoneware Mug', price: 18 }],
    });
  });
});

describe('cross-sell recommendations', () => {
  const recommendations = {
    limit: 3,
    byCategory: {
      Brewing: [
        { name: 'Gooseneck Kettle', sku: 'KETTLE-GN-1' },
        { name: 'Paper Filters', sku: 'FILT-100' },
      ],
      Cups: [{ name: 'Saucer', sku: 'SAUCER-1' }, { name: 'Paper Filters', sku: 'FILT-100' }],
      default: [{ name: 'Tasting Flight', sku: 'FLIGHT-3' }, { name: 'Stoneware Mug', sku: 'MUG-STONE' }, { name: 'Gift Card' }],
    },
  };

  it('suggests for the categories bought first, then the defaults, never what was bought, each once, up to the limit', () => {
    expect(recommendationsFor(recommendations, completed)).toEqual([
      { name: 'Paper Filters', sku: 'FILT-100' },
      { name: 'Saucer', sku: 'SAUCER-1' },
      { name: 'Tasting Flight', sku: 'FLIGHT-3' },
    ]);
  });

  it('recognises a bought product by its product id or name too', () => {
    const order: TemplateOrder = { orderId: 'o-3', products: [{ name: 'Tasting Flight' }, { name: 'Mug', productId: 'MUG-STONE' }] };
    expect(recommendationsFor({ ...recommendations, limit: 12 }, order)).toEqual([{ name: 'Gift Card' }]);
  });

  it('offers a priced product only to an order in its currency; unpriced ones to all', () => {
    const priced = {
      limit: 5,
      byCategory: {
        default: [
          { name: 'Tasting Flight', sku: 'FLIGHT-3', price: 29, currency: 'USD' },
          { name: 'Tasting Flight', sku: 'FLIGHT-3', price: 4200, currency: 'JPY' },
          { name: 'Gift Card' },
        ],
      },
    };
    expect(recommendationsFor(priced, { orderId: 'o-5', currency: 'JPY', products: [] })).toEqual([{ name: 'Tasting Flight', sku: 'FLIGHT-3', price: 4200, currency: 'JPY' }, { name: 'Gift Card' }]);
    expect(recommendationsFor(priced, { orderId: 'o-6', currency: 'EUR', products: [] })).toEqual([{ name: 'Gift Card' }]);
  });

  it('suggests the defaults for an order of unknown categories', () => {
    expect(recommendationsFor({ limit: 2, byCategory: recommendations.byCategory }, { orderId: 'o-4', products: [] })).toEqual([
      { name: 'Tasting Flight', sku: 'FLIGHT-3' },
      { name: 'Stoneware Mug', sku: 'MUG-STONE' },
    ]);
  });
});
