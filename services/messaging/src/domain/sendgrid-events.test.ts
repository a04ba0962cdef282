import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SendGridEvent, webhookEffect } from './sendgrid-events.ts';
import { parseWebhookPublicKey, verifyWebhookSignature } from './webhook-signature.ts';

const receivedAt = new Date('2026-11-23T10:00:00Z');
const ours = { dedupeKey: 'win-back:c1:2026-11', campaignId: 'win-back', customerId: 'c1', messageId: 'req-1' };

function effect(fields: Record<string, unknown>) {
  return webhookEffect(SendGridEvent.parse({ email: 'ada@example.com', timestamp: 1_795_000_000, sg_event_id: 'ev-1', sg_message_id: 'msg-1.filter0001', ...ours, ...fields }), receivedAt);
}

describe('SendGrid webhook events', () => {
  it('map SendGrid’s event names onto our statuses', () => {
    const names = ['processed', 'delivered', 'open', 'click', 'bounce', 'dropped', 'spamreport', 'unsubscribe', 'group_unsubscribe'];
    expect(names.map((event) => effect({ event }).event?.payload.status)).toEqual([
      'processed', 'delivered', 'opened', 'clicked', 'bounced', 'dropped', 'spam-reported', 'unsubscribed', 'unsubscribed',
    ]);
  });

  it('carry our ids, SendGrid’s message id and the clicked link on messages.events', () => {
    expect(effect({ event: 'click', url: 'https://shop.example.com/p/1' }).event).toEqual({
      id: 'message-status:win-back:c1:2026-11:clicked:ev-1',
      type: 'message.status',
      version: 1,
      occurredAt: '2026-11-23T10:00:00.000Z',
      customerId: 'c1',
      causationId: 'req-1',
      payload: {
        dedupeKey: ours.dedupeKey,
        campaignId: 'win-back',
        status: 'clicked',
        providerMessageId: 'msg-1',
        providerEventId: 'ev-1',
        providerTimestamp: '2026-11-18T11:06:40.000Z',
        url: 'https://shop.example.com/p/1',
      },
    });
  });

  it('suppress the address on a hard bounce, a spam report or an unsubscribe, not on a block', () => {
    expect(effect({ event: 'bounce', type: 'bounce' }).suppress).toEqual({ email: 'ada@example.com', reason: 'bounced' });
    expect(effect({ event: 'bounce', type: 'blocked' }).suppress).toBeNull();
    expect(effect({ event: 'spamreport' }).suppress).toEqual({ email: 'ada@example.com', reason: 'spam-report' });
    expect(effect({ event: 'unsubscribe' }).suppress).toEqual({ email: 'ada@example.com', reason: 'unsubscribed' });
    expect(effect({ event: 'delivered' }).suppress).toBeNull();
  });

  it('settle a doubtful send once SendGrid shows it took the message', () => {
    expect(effect({ event: 'delivered' }).settlesAsSent).toEqual({ dedupeKey: ours.dedupeKey, providerMessageId: 'msg-1' });
    expect(effect({ event: 'bounce' }).settlesAsSent).toBeNull();
  });

  it('publish nothing for events of mail that is not ours, but still honour their suppressions', () => {
    const foreign = webhookEffect(SendGridEvent.parse({ event: 'spamreport', email: 'bob@example.com' }), receivedAt);
    expect(foreign).toEqual({ event: null, suppress: { email: 'bob@example.com', reason: 'spam-report' }, settlesAsSent: null });
  });
});

describe('webhook signature', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const base64Key = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const body = Buffer.from('[{"event":"delivered"}]\r\n');
  const timestamp = '1795000000';
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString('base64');

  it('accepts the signature SendGrid makes over timestamp and raw body', () => {
    expect(verifyWebhookSignature(parseWebhookPublicKey(base64Key), signature, timestamp, body)).toBe(true);
  });

  it('refuses a changed body, another timestamp or a missing signature', () => {
    const key = parseWebhookPublicKey(base64Key);
    expect(verifyWebhookSignature(key, signature, timestamp, Buffer.from('[{"event":"open"}]\r\n'))).toBe(false);
    expect(verifyWebhookSignature(key, signature, '1795000001', body)).toBe(false);
    expect(verifyWebhookSignature(key, undefined, timestamp, body)).toBe(false);
    expect(verifyWebhookSignature(key, 'bm90IGEgc2lnbmF0dXJl', timestamp, body)).toBe(false);
  });

  it('reads the key as SendGrid shows it (base64 DER) or as PEM, and refuses other keys', () => {
    expect(parseWebhookPublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString()).asymmetricKeyType).toBe('ec');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(() => parseWebhookPublicKey(rsa)).toThrow(/P-256/);
  });
});
