import { describe, expect, it } from 'vitest';
import { MessageRequested, type SegmentCall } from '@lifecycle/contracts';
import { confirmationRequest, doubleOptInRequest, needsDoubleOptIn, subscriptionCountry } from './double-opt-in.ts';

const at = '2026-11-20T10:00:00.000Z';
function subscribed(o: { properties?: Record<string, unknown>; context?: Record<string, unknown> } = {}): SegmentCall {
  return { type: 'track', event: 'Email Subscribed', messageId: 'seg-1', timestamp: at, userId: 'cust-1', properties: o.properties ?? {}, ...(o.context === undefined ? {} : { context: o.context }) } as SegmentCall;
}

describe('double opt-in', () => {
  it('finds the country in the properties, else the address in the traits, else the locale’s region', () => {
    expect(subscriptionCountry(subscribed({ properties: { country: 'de' }, context: { locale: 'fr-FR' } }))).toBe('DE');
    expect(subscriptionCountry(subscribed({ context: { traits: { address: { country: 'AT' } }, locale: 'de-DE' } }))).toBe('AT');
    expect(subscriptionCountry(subscribed({ context: { locale: 'de-CH' } }))).toBe('CH');
    expect(subscriptionCountry(subscribed({ context: { locale: 'de' } }))).toBeNull();
    expect(subscriptionCountry(subscribed())).toBeNull();
  });

  it('asks for confirmation in the countries listed, or everywhere with all', () => {
    const german = subscribed({ context: { locale: 'de-DE' } });
    expect(needsDoubleOptIn({ all: false, countries: ['DE', 'AT'] }, german)).toBe(true);
    expect(needsDoubleOptIn({ all: false, countries: ['AT'] }, german)).toBe(false);
    expect(needsDoubleOptIn({ all: false, countries: [] }, german)).toBe(false);
    expect(needsDoubleOptIn({ all: true, countries: [] }, subscribed())).toBe(true);
    expect(needsDoubleOptIn({ all: false, countries: ['DE'] }, subscribed())).toBe(false);
  });

  it('keeps the ip and user agent of the call for the proof', () => {
    expect(doubleOptInRequest(subscribed({ context: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0' } }), 'evt-1')).toEqual({ eventId: 'evt-1', ip: '203.0.113.7', userAgent: 'Mozilla/5.0' });
    expect(doubleOptInRequest(subscribed(), 'evt-1')).toEqual({ eventId: 'evt-1', ip: undefined, userAgent: undefined });
  });

  it('requests one transactional confirmation mail per subscription, in the customer’s language', () => {
    const call = subscribed({ context: { locale: 'ja-JP', timezone: 'Asia/Tokyo', traits: { first_name: 'Hanako', last_name: 'Sato' } } });
    const now = new Date(at);
    const request = confirmationRequest({ customerId: 'cust-1', eventId: 'evt-1', email: 'hanako@example.com', call, confirmUrl: 'https://mail.example.com/confirm/t?lang=ja', now });
    expect(MessageRequested.parse(request)).toEqual(request);
    expect(request).toMatchObject({
      id: 'double-opt-in:evt-1',
      causationId: 'evt-1',
      payload: {
        dedupeKey: 'double-opt-in:cust-1:evt-1',
        campaignId: 'double-opt-in',
        templateId: 'confirm-subscription',
        category: 'transactional',
        recipient: { email: 'hanako@example.com', name: 'Hanako Sato' },
        locale: 'ja-JP',
        timeZone: 'Asia/Tokyo',
        data: { customer: { id: 'cust-1', email: 'hanako@example.com', firstName: 'Hanako', name: 'Hanako Sato' }, confirmUrl: 'https://mail.example.com/confirm/t?lang=ja' },
      },
    });
    // The same subscription delivered again asks for the same message (consumers drop it by id and key).
    expect(confirmationRequest({ customerId: 'cust-1', eventId: 'evt-1', email: 'hanako@example.com', call, confirmUrl: 'x', now: new Date() }).payload.dedupeKey).toBe(request.payload.dedupeKey);
  });
});
