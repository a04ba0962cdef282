import { describe, expect, it } from 'vitest';
import { addByCurrency, convertMoney, currencyExponent, moneyFromMajor, ratesFromConfig, toMajorUnits, totalIn, type CurrencyRates } from './money.ts';
import {
  applyOrderEvent,
  emptyLedger,
  mergeLedgers,
  netOrders,
  netOrderValue,
  orderEventValue,
  spendByCurrency,
  voidedOrderIds,
  type OrderEventInput,
  type OrderLedger,
} from './order-value.ts';

describe('money', () => {
  it('knows each currency’s minor unit', () => {
    expect([currencyExponent('JPY'), currencyExponent('USD'), currencyExponent('EUR'), currencyExponent('KWD'), currencyExponent('XXQ')]).toEqual([0, 2, 2, 3, undefined]);
  });

  it('turns major units into integer minor units and back', () => {
    expect(moneyFromMajor(19.99, 'usd')).toEqual({ amountMinor: 1999, currency: 'USD' });
    expect(moneyFromMajor(3200, 'JPY')).toEqual({ amountMinor: 3200, currency: 'JPY' });
    expect(moneyFromMajor(1.2345, 'KWD')).toEqual({ amountMinor: 1235, currency: 'KWD' });
    expect(moneyFromMajor(10, 'YEN')).toBeNull();
    expect(toMajorUnits({ amountMinor: 1999, currency: 'USD' })).toBe(19.99);
    expect(toMajorUnits({ amountMinor: 3200, currency: 'JPY' })).toBe(3200);
  });

  it('keeps sums apart by currency', () => {
    const sums = addByCurrency(addByCurrency(addByCurrency({}, { amountMinor: 3200, currency: 'JPY' }), { amountMinor: 1999, currency: 'USD' }), { amountMinor: 800, currency: 'JPY' });
    expect(sums).toEqual({ JPY: 4000, USD: 1999 });
  });

  const rates: CurrencyRates = { base: 'EUR', rates: { JPY: 0.0062, USD: 0.92 } };

  it('converts only with configured rates', () => {
    expect(convertMoney({ amountMinor: 10_000, currency: 'JPY' }, 'EUR', rates)).toEqual({ amountMinor: 6200, currency: 'EUR' });
    expect(convertMoney({ amountMinor: 10_000, currency: 'JPY' }, 'USD', rates)).toEqual({ amountMinor: 6739, currency: 'USD' });
    expect(convertMoney({ amountMinor: 500, currency: 'GBP' }, 'EUR', rates)).toBeNull();
    expect(convertMoney({ amountMinor: 500, currency: 'JPY' }, 'USD', undefined)).toBeNull();
    expect(convertMoney({ amountMinor: 500, currency: 'USD' }, 'USD', undefined)).toEqual({ amountMinor: 500, currency: 'USD' });
  });

  it('totals per-currency sums in one currency, leaving out currencies without a rate', () => {
    expect(totalIn({ JPY: 100_000, USD: 1000, GBP: 9999 }, 'EUR', rates)).toEqual({ amountMinor: 62_000 + 920, currency: 'EUR' });
    expect(totalIn({ JPY: 100_000, USD: 1000 }, 'USD', undefined)).toEqual({ amountMinor: 1000, currency: 'USD' });
  });

  it('reads the rates from one place in the config file', () => {
    expect(ratesFromConfig({ currencies: rates })).toEqual({ ok: true, value: rates });
    expect(ratesFromConfig({ rfm: { currencies: rates } })).toEqual({ ok: true, value: rates });
    expect(ratesFromConfig({ currencies: rates, rfm: { currencies: rates } }).ok).toBe(false);
  });
});

const at = (day: number) => `2026-03-${String(day).padStart(2, '0')}T10:00:00.000Z`;
const completed = (eventId: string, orderId: string, total: number, currency: string, day = 1): OrderEventInput => ({
  eventId,
  event: 'Order Completed',
  at: at(day),
  properties: { order_id: orderId, total, currency },
});
const refunded = (eventId: string, orderId: string, props: Record<string, unknown> = {}, day = 5): OrderEventInput => ({ eventId, event: 'Order Refunded', at: at(day), properties: { order_id: orderId, ...props } });
const cancelled = (eventId: string, orderId: string, day = 5): OrderEventInput => ({ eventId, event: 'Order Cancelled', at: at(day), properties: { order_id: orderId } });
const fold = (events: OrderEventInput[]): OrderLedger => events.reduce(applyOrderEvent, emptyLedger());

describe('order value: which amount an order event carries', () => {
  it('takes total over revenue (total is what the customer paid, shipping and tax in, discounts out)', () => {
    expect(orderEventValue({ properties: { total: 45.5, revenue: 40, currency: 'EUR' } })).toEqual({ amountMinor: 4550, currency: 'EUR' });
    expect(orderEventValue({ properties: { revenue: 40, currency: 'EUR' } })).toEqual({ amountMinor: 4000, currency: 'EUR' });
    expect(orderEventValue({ properties: { order_id: 'A' } })).toBeNull();
  });

  it('prefers the minor units ingestion computed', () => {
    const normalized = { money: { currency: 'JPY', amounts: { total: 3200, revenue: 3000 } } };
    expect(orderEventValue({ properties: { total: 'ignored' }, normalized })).toEqual({ amountMinor: 3200, currency: 'JPY' });
    expect(orderEventValue({ properties: {}, normalized: { orderValue: { amountMinor: 77, currency: 'KWD' } } })).toEqual({ amountMinor: 77, currency: 'KWD' });
  });

  it('takes a currency-less amount to be in USD, as ingestion does', () => {
    expect(orderEventValue({ properties: { total: 12 } })).toEqual({ amountMinor: 1200, currency: 'USD' });
  });
});

describe('order value: net of refunds and cancellations, one count per order id', () => {
  it('adds up orders per currency, never across', () => {
    const ledger = fold([completed('e1', 'A', 3200, 'JPY'), completed('e2', 'B', 45.5, 'EUR', 2), completed('e3', 'C', 19.99, 'USD', 3)]);
    expect(spendByCurrency(ledger)).toEqual({ JPY: 3200, EUR: 4550, USD: 1999 });
  });

  it('counts the same order id sent twice once (the earliest, whichever arrives first)', () => {
    const first = completed('e1', 'A', 3200, 'JPY', 1);
    const again = completed('e2', 'A', 9999, 'JPY', 2);
    expect(spendByCurrency(fold([first, again]))).toEqual({ JPY: 3200 });
    expect(fold([again, first])).toEqual(fold([first, again]));
    expect(netOrders(fold([first, first]))).toHaveLength(1);
  });

  it('takes a cancelled order out, also when the cancellation comes first', () => {
    const events = [completed('e1', 'A', 3200, 'JPY'), completed('e2', 'B', 1000, 'JPY', 2), cancelled('e3', 'A')];
    expect(spendByCurrency(fold(events))).toEqual({ JPY: 1000 });
    expect(fold([...events].reverse())).toEqual(fold(events));
    expect(voidedOrderIds(fold(events))).toEqual(['A']);
  });

  it('takes a fully refunded order out: no amount, the whole amount, or another currency', () => {
    expect(spendByCurrency(fold([completed('e1', 'A', 50, 'USD'), refunded('r1', 'A')]))).toEqual({});
    expect(spendByCurrency(fold([completed('e1', 'A', 50, 'USD'), refunded('r1', 'A', { total: 50, currency: 'USD' })]))).toEqual({});
    expect(spendByCurrency(fold([completed('e1', 'A', 50, 'USD'), refunded('r1', 'A', { total: 5, currency: 'EUR' })]))).toEqual({});
  });

  it('nets a partial refund, each refund once, and the order still counts', () => {
    const ledger = fold([completed('e1', 'A', 50, 'USD'), refunded('r1', 'A', { total: 10, currency: 'USD' }), refunded('r1', 'A', { total: 10, currency: 'USD' }), refunded('r2', 'A', { total: 5.5, currency: 'USD' })]);
    expect(netOrderValue(ledger, 'A')).toEqual({ amountMinor: 3450, currency: 'USD' });
    expect(netOrders(ledger)).toHaveLength(1);
  });

  it('applies a refund that arrived before its order', () => {
    const events = [refunded('r1', 'A', { total: 10, currency: 'USD' }, 1), completed('e1', 'A', 50, 'USD', 2)];
    expect(spendByCurrency(fold(events))).toEqual({ USD: 4000 });
  });

  it('merges two ledgers counting each order once', () => {
    const customer = fold([completed('e1', 'A', 50, 'USD'), completed('e2', 'B', 20, 'USD', 2)]);
    const anonymous = fold([completed('e1', 'A', 50, 'USD'), completed('e3', 'C', 3000, 'JPY', 3), cancelled('x', 'B')]);
    expect(spendByCurrency(mergeLedgers(customer, anonymous))).toEqual({ USD: 5000, JPY: 3000 });
    expect(mergeLedgers(customer, anonymous)).toEqual(mergeLedgers(anonymous, customer));
  });
});
