import { describe, expect, it } from 'vitest';
import { SegmentCall } from '@lifecycle/contracts';
import { unsubscribedAddress } from './unsubscribe-event.ts';

function track(event: string, properties: Record<string, unknown>, traits: Record<string, unknown> = {}): SegmentCall {
  return SegmentCall.parse({ type: 'track', event, messageId: 'm-1', timestamp: '2026-11-23T10:00:00Z', userId: 'u-1', properties, context: { traits } });
}

describe('Email Unsubscribed events', () => {
  it('opt out the address in the event’s properties', () => {
    expect(unsubscribedAddress(track('Email Unsubscribed', { email: 'Ada@Example.com', list_id: 'news' }))).toBe('ada@example.com');
  });

  it('fall back to the customer’s email in the traits', () => {
    expect(unsubscribedAddress(track('Email Unsubscribed', {}, { email: 'ada@example.com' }))).toBe('ada@example.com');
  });

  it('opt out nobody for other events or without an address', () => {
    expect(unsubscribedAddress(track('Email Subscribed', { email: 'ada@example.com' }))).toBeNull();
    expect(unsubscribedAddress(track('Email Unsubscribed', {}))).toBeNull();
  });
});
