import { describe, expect, it } from 'vitest';
import { judge, percentile, unfinishedOrders, type MailReceived, type OrderSent } from './verdict.ts';

const order = (n: number, firstPostedAt = 1_000): OrderSent => ({ orderId: `CH-${n}`, dedupeKey: `post-purchase-thank-you:c${n}:order-CH-${n}`, firstPostedAt });
const mail = (n: number, receivedAt = 2_000): MailReceived => ({ dedupeKey: `post-purchase-thank-you:c${n}:order-CH-${n}`, receivedAt });

describe('the chaos verdict', () => {
  it('passes when every order has exactly one mail, and measures from the first post to the first mail', () => {
    const verdict = judge([order(1, 1_000), order(2, 1_500)], [mail(1, 1_250), mail(2, 3_500)], new Map([[order(1).dedupeKey, 'sent']]));
    expect(verdict).toMatchObject({ orders: 2, mails: 2, missing: [], excused: [], doubled: [], doubtful: 0, stray: 0, ok: true });
    expect(verdict.latencyMs).toEqual({ p50: 250, p99: 2_000, max: 2_000, count: 2 });
  });

  it('fails on a second mail for an order, even when its send is doubtful', () => {
    const verdict = judge([order(1), order(2)], [mail(1), mail(2), mail(2)], new Map([[order(2).dedupeKey, 'doubtful']]));
    expect(verdict.doubled).toEqual([{ orderId: 'CH-2', mails: 2 }]);
    expect(verdict.doubtful).toBe(1);
    expect(verdict.ok).toBe(false);
  });

  it('excuses a missing mail only when the send is doubtful', () => {
    const statuses = new Map([
      [order(2).dedupeKey, 'doubtful'],
      [order(3).dedupeKey, 'failed'],
    ]);
    const verdict = judge([order(1), order(2), order(3), order(4)], [mail(1)], statuses);
    expect(verdict.excused).toEqual(['CH-2']);
    expect(verdict.missing).toEqual(['CH-3', 'CH-4']);
    expect(verdict.ok).toBe(false);
    expect(judge([order(1), order(2)], [mail(1)], statuses).ok).toBe(true);
  });

  it('fails on a mail that belongs to no order of the run', () => {
    const verdict = judge([order(1)], [mail(1), mail(9), { dedupeKey: undefined, receivedAt: 2_000 }], new Map());
    expect(verdict.stray).toBe(2);
    expect(verdict.ok).toBe(false);
  });

  it('waits for orders with neither a mail nor a send that ended without one', () => {
    const statuses = new Map([
      [order(2).dedupeKey, 'doubtful'],
      [order(3).dedupeKey, 'failed'],
      [order(4).dedupeKey, 'sending'],
    ]);
    expect(unfinishedOrders([order(1), order(2), order(3), order(4), order(5)], [mail(1)], statuses).map((o) => o.orderId)).toEqual(['CH-4', 'CH-5']);
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 99), percentile(values, 100)]).toEqual([50, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
