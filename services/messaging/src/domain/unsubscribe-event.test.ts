import { describe, expect, it } from 'vitest';
import { SegmentCall } from '@lifecycle/contracts';
import { consentEventOf } from './unsubscribe-event.ts';

function track(event: string, properties: Record<string, unknown>, traits: Record<string, unknown> = {}): SegmentCall {
  return SegmentCall.parse({ type: 'track', event, messageId: 'm-1', timestamp: '2026-11-23T10:00:00Z', userId: 'u-1', properties, context: { traits } });
}

describe('Email Subscribed / Unsubscribed events', () => {
  it('name the address in the event’s properties', () => {
    expect(consentEventOf(track('Email Unsubscribed', { email: 'Ada@Example.com', list_id: 'news' }))).toEqual({ kind: 'unsubscribe', email: 'ada@example.com' });
    expect(consentEventOf(track('Email Subscribed', { email: 'ada@example.com' }))).toEqual({ kind: 'subscribe', email: 'ada@example.com' });
  });

  it('fall back to the customer’s email in the traits', () => {
    expect(consentEventOf(track('Email Unsubscribed', {}, { email: 'ada@example.com' }))).toEqual({ kind: 'unsubscribe', email: 'ada@example.com' });
  });

  it('still state the customer’s choice without an address', () => {
    expect(consentEventOf(track('Email Unsubscribed', {}))).toEqual({ kind: 'unsubscribe', email: null });
  });

  it('say nothing for other events', () => {
    expect(consentEventOf(track('Order Completed', { email: 'ada@example.com' }))).toBeNull();
  });
});
