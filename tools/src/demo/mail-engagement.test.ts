import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MessageRequested } from '@lifecycle/contracts';
import { parseWebhookPublicKey, verifyWebhookSignature } from '@lifecycle/messaging';
import { DEMO_WEBHOOK_PRIVATE_KEY_PEM, DEMO_WEBHOOK_PUBLIC_KEY } from './demo-webhook-key.ts';
import { engagementEvents, engagementQueue, signWebhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './mail-engagement.ts';

const sentAt = new Date('2027-03-01T09:00:00.000Z');
const minutes = (n: number): Date => new Date(sentAt.getTime() + n * 60_000);

function request(n: string, category: 'marketing' | 'transactional' = 'marketing'): MessageRequested {
  return {
    id: `req-${n}`,
    type: 'message.requested',
    version: 1,
    occurredAt: sentAt.toISOString(),
    customerId: `demo-${n}`,
    causationId: `stage-${n}`,
    payload: {
      dedupeKey: `win-back-lapsed:demo-${n}:1`,
      campaignId: 'win-back-lapsed',
      templateId: 'win-back',
      category,
      recipient: { email: `demo-${n}@example.com` },
      locale: 'en',
      timeZone: 'UTC',
      data: {},
    },
  };
}

describe('signing the demo’s webhook posts as SendGrid signs them', () => {
  const key = createPrivateKey(DEMO_WEBHOOK_PRIVATE_KEY_PEM);
  const publicKey = parseWebhookPublicKey(DEMO_WEBHOOK_PUBLIC_KEY);

  it('produces headers messaging’s own verifier accepts for the exact body, and refuses for any other', () => {
    const body = JSON.stringify(engagementEvents(request('1'), { openedAt: minutes(5), clickedAt: minutes(7), unsubscribedAt: null }, 'sg-abc'));
    const headers = signWebhookBody(key, '1803200000', body);
    expect(headers[TIMESTAMP_HEADER]).toBe('1803200000');
    expect(verifyWebhookSignature(publicKey, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], Buffer.from(body))).toBe(true);
    expect(verifyWebhookSignature(publicKey, headers[SIGNATURE_HEADER], '1803200001', Buffer.from(body))).toBe(false);
    expect(verifyWebhookSignature(publicKey, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], Buffer.from(`${body} `))).toBe(false);
  });
});

describe('engagementEvents', () => {
  it('reports an open and a click as SendGrid does: unix-second timestamps, our custom args, the clicked url', () => {
    const events = engagementEvents(request('1'), { openedAt: minutes(5), clickedAt: minutes(7), unsubscribedAt: null }, 'sg-abc');
    expect(events.map((e) => [e.event, e.timestamp])).toEqual([
      ['open', sentAt.getTime() / 1000 + 300],
      ['click', sentAt.getTime() / 1000 + 420],
    ]);
    expect(events[1]).toMatchObject({ email: 'demo-1@example.com', sg_message_id: 'sg-abc.filterdrecv-demo-1', messageId: 'req-1', dedupeKey: 'win-back-lapsed:demo-1:1', campaignId: 'win-back-lapsed', customerId: 'demo-1' });
    expect(events[1]?.url).toMatch(/^https:\/\/shop\.example\.com\/\?.*utm_campaign=win-back-lapsed/);
    expect(new Set(events.map((e) => e.sg_event_id)).size).toBe(2);
  });

  it('gives the same event ids for the same mail, so a re-post is one event to messaging', () => {
    const reaction = { openedAt: minutes(5), clickedAt: null, unsubscribedAt: minutes(6) };
    expect(engagementEvents(request('1'), reaction, null)).toEqual(engagementEvents(request('1'), reaction, null));
    expect(engagementEvents(request('1'), reaction, null).map((e) => e.event)).toEqual(['open', 'unsubscribe']);
  });

  it('leaves out an sg_message_id that messaging would cut at its own dot (the outbox’s ids)', () => {
    const [open] = engagementEvents(request('1'), { openedAt: minutes(5), clickedAt: null, unsubscribedAt: null }, '0af3@shop.example.com');
    expect(open).not.toHaveProperty('sg_message_id');
  });
});

describe('engagementQueue', () => {
  const opened = { openedAt: minutes(5), clickedAt: minutes(30), unsubscribedAt: null };

  it('holds a reaction until its mail is reported sent, and each event until the clock has passed it', () => {
    const queue = engagementQueue();
    queue.add(request('1'), opened);
    expect(queue.takeDue(minutes(60))).toEqual([]);
    queue.settle('win-back-lapsed:demo-1:1', { sent: true, providerMessageId: 'sg-1' });
    expect(queue.takeDue(minutes(10)).map((e) => e.event)).toEqual(['open']);
    expect(queue.takeDue(minutes(10))).toEqual([]);
    expect(queue.takeDue(minutes(30)).map((e) => e.event)).toEqual(['click']);
    expect(queue.waiting()).toBe(0);
  });

  it('matches an outcome that arrives before the reaction', () => {
    const queue = engagementQueue();
    queue.settle('win-back-lapsed:demo-2:1', { sent: true, providerMessageId: null });
    queue.add(request('2'), opened);
    expect(queue.takeDue(minutes(60)).map((e) => e.event)).toEqual(['open', 'click']);
  });

  it('reports nothing for mail messaging did not send (suppressed or failed)', () => {
    const queue = engagementQueue();
    queue.add(request('3'), opened);
    queue.settle('win-back-lapsed:demo-3:1', { sent: false });
    queue.settle('win-back-lapsed:demo-3:1', { sent: true, providerMessageId: 'late' });
    expect(queue.takeDue(minutes(60))).toEqual([]);
    expect(queue.undelivered()).toBe(1);
  });

  it('keeps nothing for a mail the customer ignored', () => {
    const queue = engagementQueue();
    queue.add(request('4'), { openedAt: null, clickedAt: null, unsubscribedAt: null });
    queue.add(request('5'), null);
    expect(queue.waiting()).toBe(0);
  });
});
