import { describe, expect, it } from 'vitest';
import { LifecycleEvent, spendByCurrency, type ConsentChanged } from '@lifecycle/contracts';
import { contactAfterConsent, contactAfterEngagement, contactAfterEvent, emptyContact, type StoredContact } from './contact-state.ts';

const STORE_ZONE = 'Europe/Berlin';

function envelope(id: string, at: string, call: Record<string, unknown>): LifecycleEvent {
  return LifecycleEvent.parse({
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId: 'cust-1',
    causationId: id,
    payload: { call: { messageId: id, timestamp: at, userId: 'cust-1', ...call } },
  });
}

const identify = (id: string, at: string, traits: Record<string, unknown>, normalized?: Record<string, unknown>) =>
  envelope(id, at, { type: 'identify', traits, ...(normalized !== undefined ? { normalized: { timestampOffset: 'Z', ...normalized } } : {}) });

const track = (id: string, at: string, event: string, properties: Record<string, unknown>, context?: Record<string, unknown>) =>
  envelope(id, at, { type: 'track', event, properties, ...(context !== undefined ? { context } : {}) });

/** Applies events in the order given to a new contact, as the consumer does (the row starts as of the first event). */
function applyAll(events: LifecycleEvent[], storeZone = STORE_ZONE): StoredContact {
  const first = events[0];
  if (first === undefined) throw new Error('no events');
  return events.reduce((contact, event) => contactAfterEvent(contact, event, storeZone), emptyContact('cust-1', new Date(first.occurredAt)));
}

describe('traits', () => {
  const newer = identify('e-2', '2026-11-20T10:00:00Z', { email: 'Ada.New@Example.com', timezone: 'Asia/Tokyo' });
  const older = identify('e-1', '2026-11-20T09:00:00Z', { email: 'ada.old@example.com', first_name: 'Ada', name: 'Ada Lovelace', timezone: 'America/New_York' });

  it('keeps the newer event’s traits and lets the older one fill only gaps, in either order', () => {
    const inOrder = applyAll([older, newer]);
    const outOfOrder = applyAll([newer, older]);
    expect(inOrder).toMatchObject({ email: 'ada.new@example.com', timeZone: 'Asia/Tokyo', firstName: 'Ada', name: 'Ada Lovelace', asOf: new Date('2026-11-20T10:00:00Z') });
    expect(outOfOrder).toEqual(inOrder);
  });

  it('keeps an email change that arrives late, after newer events without an email', () => {
    const first = identify('e-1', '2026-11-20T09:00:00Z', { email: 'a@example.com' });
    const changed = identify('e-2', '2026-11-20T10:00:00Z', { email: 'b@example.com' });
    const view = track('e-3', '2026-11-20T11:00:00Z', 'Product Viewed', {}, { timezone: 'Asia/Tokyo' });
    expect(applyAll([first, changed, view]).email).toBe('b@example.com');
    expect(applyAll([first, view, changed]).email).toBe('b@example.com');
    expect(applyAll([view, changed, first]).email).toBe('b@example.com');
  });

  it('takes a first name from first_name or firstName, and zone and locale from the call’s context', () => {
    const contact = applyAll([track('e-1', '2026-11-20T10:00:00Z', 'Product Viewed', {}, { timezone: 'Asia/Tokyo', locale: 'ja-JP', traits: { firstName: 'Aiko' } })]);
    expect(contact).toMatchObject({ firstName: 'Aiko', timeZone: 'Asia/Tokyo', locale: 'ja-JP' });
  });

  it('reads the birthday ingestion checked (call.normalized.traits.birthday)', () => {
    const contact = applyAll([identify('e-1', '2026-11-20T10:00:00Z', { birthday: '02/06/1990' }, { traits: { birthday: '1990-06-02' } })]);
    expect(contact.birthday).toBe('1990-06-02');
  });

  it('falls back to a raw birthday trait only when it is a date', () => {
    expect(applyAll([identify('e-1', '2026-11-20T10:00:00Z', { birthday: '--06-02' })]).birthday).toBe('--06-02');
    expect(applyAll([identify('e-1', '2026-11-20T10:00:00Z', { birthday: 'soon' })]).birthday).toBeNull();
  });

  it('keeps a known birthday when a later call carries none', () => {
    const contact = applyAll([
      identify('e-1', '2026-11-20T10:00:00Z', {}, { traits: { birthday: '1990-06-02' } }),
      identify('e-2', '2026-11-21T10:00:00Z', { email: 'ada@example.com' }),
    ]);
    expect(contact).toMatchObject({ birthday: '1990-06-02', email: 'ada@example.com' });
  });
});

describe('lifetime spend (the shared order-value rule)', () => {
  const spend = (contact: StoredContact) => spendByCurrency(contact.orders);

  it('nets a refund that is processed before its order', () => {
    const order = track('e-1', '2026-11-01T10:00:00Z', 'Order Completed', { order_id: 'o-1', total: 120, currency: 'EUR' });
    const refund = track('e-2', '2026-11-03T10:00:00Z', 'Order Refunded', { order_id: 'o-1', total: 30, currency: 'EUR' });
    expect(spend(applyAll([refund, order]))).toEqual({ EUR: 9000 });
    expect(spend(applyAll([order, refund]))).toEqual({ EUR: 9000 });
  });

  it('adds orders at their total (what the customer paid), takes refunds off, keeps currencies apart', () => {
    const contact = applyAll([
      track('e-1', '2026-11-01T10:00:00Z', 'Order Completed', { order_id: 'o-1', total: 120, currency: 'EUR' }),
      track('e-2', '2026-11-05T10:00:00Z', 'Order Completed', { order_id: 'o-2', total: 90, revenue: 80, currency: 'EUR' }),
      track('e-3', '2026-11-06T10:00:00Z', 'Order Refunded', { order_id: 'o-1', total: 30, currency: 'EUR' }),
      track('e-4', '2026-11-07T10:00:00Z', 'Order Completed', { order_id: 'o-3', total: 3200, currency: 'JPY' }),
    ]);
    expect(spend(contact)).toEqual({ EUR: 18000, JPY: 3200 });
    expect(contact.currency).toBe('JPY');
  });

  it('counts an order id sent twice once and drops a cancelled order', () => {
    const contact = applyAll([
      track('e-1', '2026-11-01T10:00:00Z', 'Order Completed', { order_id: 'o-1', total: 120, currency: 'EUR' }),
      track('e-2', '2026-11-01T10:05:00Z', 'Order Completed', { order_id: 'o-1', total: 120, currency: 'EUR' }),
      track('e-3', '2026-11-02T10:00:00Z', 'Order Completed', { order_id: 'o-2', total: 60, currency: 'EUR' }),
      track('e-4', '2026-11-03T10:00:00Z', 'Order Cancelled', { order_id: 'o-2' }),
    ]);
    expect(spend(contact)).toEqual({ EUR: 12000 });
  });

  it('is not moved by other events', () => {
    const contact = applyAll([
      track('e-1', '2026-11-01T10:00:00Z', 'Order Completed', { order_id: 'o-1', total: 120 }),
      track('e-2', '2026-11-02T10:00:00Z', 'Checkout Started', { checkout_id: '42', total: 500 }),
    ]);
    expect(spend(contact)).toEqual({ USD: 12000 });
  });
});

describe('first order date', () => {
  it('is the earliest order’s calendar date in the customer’s zone, whatever the order of arrival', () => {
    const zone = identify('e-0', '2026-01-01T00:00:00Z', { timezone: 'Asia/Tokyo' });
    // 16:00 UTC on 14 March is 01:00 on 15 March in Tokyo.
    const early = track('e-1', '2026-03-14T16:00:00Z', 'Order Completed', { order_id: 'o-1', total: 20 });
    const late = track('e-2', '2026-05-01T10:00:00Z', 'Order Completed', { order_id: 'o-2', total: 20 });
    expect(applyAll([zone, late, early]).firstOrderDate).toBe('2026-03-15');
    expect(applyAll([zone, early, late]).firstOrderDate).toBe('2026-03-15');
  });

  it('uses the store’s zone for a customer without one', () => {
    // 03:00 UTC on 14 March is still 13 March in New York.
    const contact = applyAll([track('e-1', '2026-03-14T03:00:00Z', 'Order Completed', { order_id: 'o-1', total: 20 })], 'America/New_York');
    expect(contact.firstOrderDate).toBe('2026-03-13');
  });

  it('takes the sign-up date the same way', () => {
    const contact = applyAll([
      track('e-2', '2026-06-03T10:00:00Z', 'Signed Up', {}),
      track('e-1', '2026-05-31T22:30:00Z', 'Signed Up', {}),
    ]);
    // 22:30 UTC on 31 May is 00:30 on 1 June in Berlin.
    expect(contact.signupDate).toBe('2026-06-01');
  });
});

describe('last order', () => {
  it('keeps the latest order even when an older one arrives after it', () => {
    const contact = applyAll([
      track('e-2', '2026-11-05T10:00:00Z', 'Order Completed', { order_id: 'o-2', total: 40, currency: 'EUR', products: [{ name: 'Mug', price: 20, quantity: 2 }] }),
      track('e-1', '2026-11-01T10:00:00Z', 'Order Completed', { order_id: 'o-1', total: 120, currency: 'EUR' }),
    ]);
    expect(contact.lastOrder).toEqual({
      orderId: 'o-2',
      total: 40,
      currency: 'EUR',
      products: [{ name: 'Mug', price: 20, quantity: 2 }],
      placedAt: '2026-11-05T10:00:00.000Z',
    });
  });
});

describe('email subscription', () => {
  const consent = (sequence: number, state: ConsentChanged['payload']['state'], at: string): ConsentChanged => ({
    id: `consent:cust-1:${sequence}`,
    type: 'consent.changed',
    version: 1,
    occurredAt: at,
    customerId: 'cust-1',
    causationId: 'test',
    payload: { state, marketingAllowed: state === 'subscribed', consentAt: at, source: 'unsubscribe-link', sequence, previousState: null },
  });
  const start = emptyContact('cust-1', new Date('2026-11-20T00:00:00Z'));

  it('starts subscribed', () => {
    expect(start.unsubscribed).toBe(false);
  });

  it('takes consent from the owner’s records, the latest sequence winning in any arrival order', () => {
    const records = [consent(1, 'unsubscribed', '2026-11-20T12:00:00Z'), consent(2, 'subscribed', '2026-11-20T13:00:00Z'), consent(3, 'bounced', '2026-11-20T14:00:00Z')];
    const inOrder = records.reduce(contactAfterConsent, start);
    const reversed = [...records].reverse().reduce(contactAfterConsent, start);
    expect(inOrder).toMatchObject({ unsubscribed: true, consentState: 'bounced', consentSequence: 3, subscriptionAsOf: new Date('2026-11-20T14:00:00Z') });
    expect(reversed).toEqual(inOrder);
  });

  it('changes nothing when a record is redelivered', () => {
    const once = contactAfterConsent(start, consent(1, 'unsubscribed', '2026-11-20T12:00:00Z'));
    expect(contactAfterConsent(once, consent(1, 'unsubscribed', '2026-11-20T12:00:00Z'))).toBe(once);
  });

  it('no longer derives consent from Email Subscribed / Email Unsubscribed events itself', () => {
    expect(applyAll([track('e-1', '2026-11-20T12:00:00Z', 'Email Unsubscribed', {})]).unsubscribed).toBe(false);
  });
});

describe('preferences, engagement and the sunset', () => {
  const record = (sequence: number, at: string, source: ConsentChanged['payload']['source'], preferences?: ConsentChanged['payload']['preferences']): ConsentChanged => ({
    id: `consent:cust-1:${sequence}`,
    type: 'consent.changed',
    version: 1,
    occurredAt: at,
    customerId: 'cust-1',
    causationId: 'test',
    payload: { state: 'subscribed', marketingAllowed: true, consentAt: at, source, sequence, previousState: null, ...(preferences !== undefined ? { preferences } : {}) },
  });
  const start = emptyContact('cust-1', new Date('2026-11-20T00:00:00Z'));
  const sunset: StoredContact = { ...start, rePermissionSentAt: new Date('2026-11-20T10:00:00Z'), sunsetAt: new Date('2026-11-27T10:00:00Z') };

  it('keeps the latest record’s preferences, and those held when a record from before the preference center carries none', () => {
    const saved = contactAfterConsent(start, record(1, '2026-11-20T12:00:00Z', 'preference-center', { topicsOptedOut: ['offers'], frequency: 'weekly', at: '2026-11-20T12:00:00Z' }));
    expect(saved).toMatchObject({ topicsOptedOut: ['offers'], frequency: 'weekly' });
    expect(contactAfterConsent(saved, record(2, '2026-11-21T12:00:00Z', 'operator'))).toMatchObject({ topicsOptedOut: ['offers'], frequency: 'weekly' });
  });

  it('lifts the sunset on a new subscription or saved preferences after the re-permission mail, not on other records', () => {
    expect(contactAfterConsent(sunset, record(1, '2026-11-28T12:00:00Z', 'preference-center')).sunsetAt).toBeNull();
    expect(contactAfterConsent(sunset, record(1, '2026-11-28T12:00:00Z', 'sendgrid-webhook')).sunsetAt).toEqual(sunset.sunsetAt);
  });

  it('keeps the latest open or click, lifts the sunset with one after the re-permission mail, and ignores an older one', () => {
    const opened = contactAfterEngagement(sunset, new Date('2026-11-22T09:00:00Z'));
    expect(opened).toMatchObject({ lastEngagedAt: new Date('2026-11-22T09:00:00Z'), sunsetAt: null });
    expect(contactAfterEngagement(opened, new Date('2026-11-21T09:00:00Z'))).toBe(opened);
    expect(contactAfterEngagement(sunset, new Date('2026-11-19T09:00:00Z'))).toMatchObject({ lastEngagedAt: new Date('2026-11-19T09:00:00Z'), sunsetAt: sunset.sunsetAt });
  });
});
