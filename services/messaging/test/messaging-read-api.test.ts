import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '@lifecycle/kit';
import { createTestInfra, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { sends } from '../src/db/schema.ts';
import { startMessaging, type Messaging } from '../src/service.ts';

// The read API on a real database: sends seeded as rows, opens, clicks and consent changes coming
// in the way they do in production (SendGrid's signed Event Webhook).
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let infra: TestInfra;
let runtime: Runtime;
let service: Messaging;

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0', SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config });
});

afterAll(async () => {
  await Promise.all(service?.consumers.map((c) => c.stop()) ?? []);
  await service?.stop();
  await runtime?.close();
});

function signed(body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString('base64');
  return { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
}

async function webhook(events: Record<string, unknown>[]): Promise<void> {
  const body = JSON.stringify(events);
  const answer = await service.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: signed(body), payload: body });
  expect(answer.statusCode).toBe(200);
}

const at = (iso: string) => new Date(iso);
const seconds = (iso: string) => Date.parse(iso) / 1000;
const row = (dedupeKey: string, campaignId: string, status: 'sent' | 'failed' | 'claimed', claimedAt: string, updatedAt: string, extra: Partial<typeof sends.$inferInsert> = {}) => ({
  dedupeKey,
  status,
  messageId: `msg-${dedupeKey}`,
  customerId: 'ada',
  campaignId,
  templateId: `${campaignId}-template`,
  claimedAt: at(claimedAt),
  updatedAt: at(updatedAt),
  ...extra,
});

describe('messaging read API', () => {
  beforeAll(async () => {
    await runtime.db.insert(sends).values([
      row('thanks:ada:1', 'thanks', 'sent', '2026-11-20T09:59:58.000Z', '2026-11-20T10:00:00.000Z', { providerMessageId: 'sg-1', reportedAt: at('2026-11-20T10:00:00.000Z') }),
      row('review:ada:1', 'review', 'failed', '2026-11-21T08:00:00.000Z', '2026-11-21T08:00:01.000Z', { error: 'template review-template: missing partial', reportedAt: at('2026-11-21T08:00:01.000Z') }),
      row('thanks:ada:2', 'thanks', 'sent', '2026-11-21T23:59:58.000Z', '2026-11-21T23:59:59.000Z', { providerMessageId: 'sg-2', reportedAt: at('2026-11-21T23:59:59.000Z') }),
      row('review:ada:2', 'review', 'sent', '2026-11-22T00:00:00.000Z', '2026-11-22T00:00:01.000Z', { providerMessageId: 'sg-3', reportedAt: at('2026-11-22T00:00:01.000Z') }),
      { ...row('thanks:bo:1', 'thanks', 'sent', '2026-11-21T12:00:00.000Z', '2026-11-21T12:00:00.000Z', { providerMessageId: 'sg-4', reportedAt: at('2026-11-21T12:00:00.000Z') }), customerId: 'bo' },
    ]);
  });

  it('lists a customer’s messages, newest first, with the first open and click SendGrid reported', async () => {
    const ids = { dedupeKey: 'thanks:ada:1', campaignId: 'thanks', customerId: 'ada', messageId: 'msg-thanks:ada:1' };
    await webhook([
      { event: 'open', email: 'ada@example.com', timestamp: seconds('2026-11-20T12:00:00.000Z'), sg_event_id: 'ev-o2', ...ids },
      { event: 'click', email: 'ada@example.com', timestamp: seconds('2026-11-20T12:01:00.000Z'), sg_event_id: 'ev-c1', url: 'https://oakandember.example.com/p/1', ...ids },
    ]);
    // An earlier open reported late wins; a later one does not move it.
    await webhook([{ event: 'open', email: 'ada@example.com', timestamp: seconds('2026-11-20T11:00:00.000Z'), sg_event_id: 'ev-o1', ...ids }]);
    await webhook([{ event: 'open', email: 'ada@example.com', timestamp: seconds('2026-11-25T11:00:00.000Z'), sg_event_id: 'ev-o3', ...ids }]);

    const response = await service.app.inject({ url: '/customers/ada/messages' });
    expect(response.statusCode).toBe(200);
    expect(response.json().messages.map((m: { dedupeKey: string }) => m.dedupeKey)).toEqual(['review:ada:2', 'thanks:ada:2', 'review:ada:1', 'thanks:ada:1']);
    expect(response.json().messages[2]).toEqual({
      messageId: 'msg-review:ada:1',
      dedupeKey: 'review:ada:1',
      campaignId: 'review',
      templateId: 'review-template',
      status: 'failed',
      providerMessageId: null,
      requestedAt: '2026-11-21T08:00:00.000Z',
      sentAt: null,
      openedAt: null,
      clickedAt: null,
      error: 'template review-template: missing partial',
    });
    expect(response.json().messages[3]).toEqual({
      messageId: 'msg-thanks:ada:1',
      dedupeKey: 'thanks:ada:1',
      campaignId: 'thanks',
      templateId: 'thanks-template',
      status: 'sent',
      providerMessageId: 'sg-1',
      requestedAt: '2026-11-20T09:59:58.000Z',
      sentAt: '2026-11-20T10:00:00.000Z',
      openedAt: '2026-11-20T11:00:00.000Z',
      clickedAt: '2026-11-20T12:01:00.000Z',
      error: null,
    });
    const unknown = await service.app.inject({ url: '/customers/nobody/messages' });
    expect(unknown.statusCode).toBe(404);
  });

  it('shows a customer’s consent with the history of its changes', async () => {
    const ids = { dedupeKey: 'thanks:ada:2', campaignId: 'thanks', customerId: 'ada', messageId: 'msg-thanks:ada:2' };
    await webhook([{ event: 'unsubscribe', email: 'Ada@Example.com', timestamp: seconds('2026-11-22T09:00:00.000Z'), sg_event_id: 'ev-u1', ...ids }]);
    await webhook([{ event: 'spamreport', email: 'ada@example.com', timestamp: seconds('2026-11-23T09:00:00.000Z'), sg_event_id: 'ev-s1', ...ids }]);

    const response = await service.app.inject({ url: '/customers/ada/consent' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      customerId: 'ada',
      email: 'ada@example.com',
      state: 'complained',
      marketingAllowed: false,
      sequence: 2,
      preference: 'unsubscribed',
      preferenceAt: '2026-11-22T09:00:00.000Z',
      block: 'complained',
      blockAt: '2026-11-23T09:00:00.000Z',
      // Never saved in the preference center, never asked for a double opt-in.
      preferences: { topicsOptedOut: [], frequency: 'any', at: null },
      optIn: null,
      optInProof: null,
    });
    expect(body.history).toEqual([
      { sequence: 1, state: 'unsubscribed', previousState: null, marketingAllowed: false, source: 'sendgrid-webhook', consentAt: '2026-11-22T09:00:00.000Z', recordedAt: expect.any(String) },
      { sequence: 2, state: 'complained', previousState: 'unsubscribed', marketingAllowed: false, source: 'sendgrid-webhook', consentAt: '2026-11-23T09:00:00.000Z', recordedAt: expect.any(String) },
    ]);
    expect((await service.app.inject({ url: '/customers/nobody/consent' })).statusCode).toBe(404);
  });

  it('counts messages sent per UTC day by campaign, empty days included', async () => {
    const response = await service.app.inject({ url: '/metrics/messages?from=2026-11-20T00:00:00Z&to=2026-11-24T00:00:00Z' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      from: '2026-11-20T00:00:00Z',
      to: '2026-11-24T00:00:00Z',
      days: [
        { day: '2026-11-20', byCampaign: { thanks: 1 } },
        // The failed review is no message sent.
        { day: '2026-11-21', byCampaign: { thanks: 2 } },
        { day: '2026-11-22', byCampaign: { review: 1 } },
        { day: '2026-11-23', byCampaign: {} },
      ],
    });
    const bad = await service.app.inject({ url: '/metrics/messages?from=2026-11-24T00:00:00Z&to=2026-11-20T00:00:00Z' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe('to');
    expect((await service.app.inject({ url: '/metrics/messages?to=2026-11-20T00:00:00Z' })).json().issues[0].field).toBe('from');
  });

  it('describes its read API and the operations routes in an OpenAPI document at /docs', async () => {
    const doc = (await service.app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual([
      '/customers/{id}/messages',
      '/customers/{id}/consent',
      '/preferences/{token}',
      '/confirm/{token}',
      '/metrics/messages',
      '/coupons/stats',
      '/templates/{templateId}',
      '/preview/{templateId}',
      '/admin/privacy/requests',
      '/admin/privacy/requests/{id}',
      '/dead-letters',
      '/dead-letters/records',
      '/dead-letters/republish',
      '/admin/consumer-lag',
    ]);
    expect((await service.app.inject({ url: '/docs' })).json()).toEqual(doc);
  });
});
