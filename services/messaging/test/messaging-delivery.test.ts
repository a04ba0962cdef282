import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentChanged, type LifecycleEvent, type MessageRequested } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid, type FakeSendGridRequest } from '@lifecycle/tools/fake-sendgrid';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { addressIds, sends, suppressions } from '../src/db/schema.ts';
import { signLegacyToken, signToken } from '../src/domain/unsubscribe-token.ts';
import { sendRow, statusEvents, thankYouRequest } from './message-requests.ts';

const UNSUBSCRIBE_SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;
let consentChanges: Awaited<ReturnType<typeof collectTopic>>;
/** Every wait the service asked for between provider calls, in ms. */
const waits: number[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  const config = loadConfig({
    ...serviceEnv(infra),
    PORT: '0',
    SENDGRID_API_KEY: 'SG.test-key',
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_MAX_ATTEMPTS: '3',
    SENDGRID_RETRY_BASE_MS: '100',
    SENDGRID_SENDS_PER_SECOND: '1000',
    UNSUBSCRIBE_SECRET,
    UNSUBSCRIBE_MAILTO: 'unsubscribe@oakandember.example.com',
    PUBLIC_URL: 'https://mail.oakandember.example.com',
    SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({
    runtime,
    config,
    retryBackoffMs: 50,
    sleep: async (ms) => {
      if (ms >= 20) waits.push(ms);
      await sleep(ms);
    },
  });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
  consentChanges = await collectTopic(infra, 'consentChanges');
});

afterAll(async () => {
  await Promise.all([events?.stop(), consentChanges?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  await sendgrid?.close();
});

async function request(...values: MessageRequested[]): Promise<void> {
  await publish(producer, infra.prefix, 'messagesRequested', values);
}

function postsFor(dedupeKey: string): FakeSendGridRequest[] {
  return sendgrid.requests.filter((r) => SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey === dedupeKey);
}

function marketingRequest(n: string, email = `ada.${n}@example.com`): MessageRequested {
  const base = thankYouRequest(n, { category: 'marketing', campaignId: 'newsletter' });
  return { ...base, payload: { ...base.payload, dedupeKey: `newsletter:${base.customerId}:${n}`, recipient: { email, name: 'Ada Lovelace' } } };
}

async function finalStatus(dedupeKey: string): Promise<string[]> {
  return eventually(() => {
    const statuses = statusEvents(events.records, dedupeKey).map((e) => e.payload.status);
    expect(statuses.length).toBeGreaterThan(0);
    return statuses;
  }, 30_000);
}

function signed(body: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> {
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString('base64');
  return {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': signature,
    'x-twilio-email-event-webhook-timestamp': timestamp,
  };
}

describe('retries and rate limits', () => {
  it('waits as long as a 429’s X-RateLimit-Reset says, then sends once', async () => {
    const req = thankYouRequest('rate-limited');
    waits.length = 0;
    sendgrid.rateLimitNext(1, 2);
    await request(req);
    expect(await finalStatus(req.payload.dedupeKey)).toEqual(['sent']);
    expect(postsFor(req.payload.dedupeKey).map((r) => r.status)).toEqual([429, 202]);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(1_000);
    expect(waits[0]).toBeLessThanOrEqual(3_000);
  });

  it('backs off after each SendGrid 500 and fails the message with the reason once the attempts are used up', async () => {
    const req = thankYouRequest('down');
    sendgrid.failNext(500, 3);
    await request(req);
    expect(await finalStatus(req.payload.dedupeKey)).toEqual(['failed']);
    expect(postsFor(req.payload.dedupeKey).map((r) => r.status)).toEqual([500, 500, 500]);
    expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'failed', error: 'gave up after 3 attempts: internal server error' });
  });

  it('counts doubtful sends in GET /metrics', async () => {
    const req = thankYouRequest('metrics-doubtful');
    const claimedAt = new Date(Date.now() - 60_000);
    await runtime.db.insert(sends).values({ dedupeKey: req.payload.dedupeKey, status: 'sending', messageId: req.id, customerId: req.customerId, campaignId: req.payload.campaignId, templateId: req.payload.templateId, claimedAt, updatedAt: claimedAt });
    await request(req);
    expect(await finalStatus(req.payload.dedupeKey)).toEqual(['doubtful']);
    const text = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('lifecycle_messaging_messages{status="doubtful"} 1');
    expect(text).toContain('lifecycle_messaging_outcomes_total{outcome="doubtful"} 1');
    const json = (await service.app.inject({ method: 'GET', url: '/metrics?format=json' })).json();
    expect(json).toMatchObject({ messages: { doubtful: 1 }, outcomes: { doubtful: 1 } });
  });
});

describe('parallel sends', () => {
  it('sends for different customers side by side, and one customer’s messages in the order requested', async () => {
    sendgrid.respondAfter(150);
    try {
      const others = Array.from({ length: 6 }, (_, i) => thankYouRequest(`parallel-${i}`));
      const ordered = ['first', 'second', 'third'].map((n) => ({ ...thankYouRequest(`ordered-${n}`), customerId: 'cust-ordered' }));
      await request(...ordered, ...others);
      for (const r of [...ordered, ...others]) expect(await finalStatus(r.payload.dedupeKey)).toEqual(['sent']);
      expect(sendgrid.peakConcurrency()).toBeGreaterThan(1);
      const order = sendgrid.requests
        .map((r) => SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey)
        .filter((key) => ordered.some((o) => o.payload.dedupeKey === key));
      expect(order).toEqual(ordered.map((o) => o.payload.dedupeKey));
    } finally {
      sendgrid.respondAfter(0);
    }
  });
});

describe('suppression and unsubscribe', () => {
  /** The one-click link of a message SendGrid was given: what the customer's mailbox holds. */
  function unsubscribeUrlOf(dedupeKey: string): URL {
    const header = SendGridMail.parse(postsFor(dedupeKey)[0]?.body).headers?.['List-Unsubscribe'] ?? '';
    const https = /<(https:[^>]+)>/.exec(header)?.[1];
    expect(https).toBeDefined();
    return new URL(https ?? '');
  }

  it('puts a mailto and a one-click https List-Unsubscribe on marketing mail, and none on transactional mail', async () => {
    const marketing = marketingRequest('headers');
    const receipt = thankYouRequest('headers-receipt');
    await request(marketing, receipt);
    await finalStatus(marketing.payload.dedupeKey);
    await finalStatus(receipt.payload.dedupeKey);
    const [row] = await runtime.db.select().from(addressIds).where(eq(addressIds.email, 'ada.headers@example.com'));
    const token = signToken(row?.id ?? '', UNSUBSCRIBE_SECRET);
    const body = SendGridMail.parse(postsFor(marketing.payload.dedupeKey)[0]?.body);
    expect(body.headers).toEqual({
      'List-Unsubscribe': `<mailto:unsubscribe@oakandember.example.com?subject=unsubscribe%20${token}>, <https://mail.oakandember.example.com/unsubscribe?token=${token}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(SendGridMail.parse(postsFor(receipt.payload.dedupeKey)[0]?.body).headers).toBeUndefined();
  });

  it('gives an address the same opaque token in every mail, which reveals nothing of the address', async () => {
    const first = marketingRequest('opaque-1', 'Hedy.Opaque@example.com');
    const second = marketingRequest('opaque-2', 'hedy.opaque@example.com');
    await request(first, second);
    await finalStatus(first.payload.dedupeKey);
    await finalStatus(second.payload.dedupeKey);
    const token = unsubscribeUrlOf(first.payload.dedupeKey).searchParams.get('token') ?? '';
    expect(unsubscribeUrlOf(second.payload.dedupeKey).searchParams.get('token')).toBe(token);
    const decoded = token.split('.').map((part) => Buffer.from(part, 'base64url').toString('latin1'));
    // Neither the token nor its decoded parts carry the address (random bytes may decode to a
    // lone '@', so the check looks for the address's parts, not for any '@').
    expect([token, ...decoded].join(' ').toLowerCase()).not.toMatch(/hedy|opaque|example\.com/);
  });

  it('shows a confirmation page on GET, unsubscribes on the one-click POST, and then skips marketing mail but not receipts', async () => {
    const email = 'grace.oneclick@example.com';
    const earlier = marketingRequest('before-oneclick', email);
    await request(earlier);
    expect(await finalStatus(earlier.payload.dedupeKey)).toEqual(['sent']);
    const link = unsubscribeUrlOf(earlier.payload.dedupeKey);
    const url = `${link.pathname}${link.search}`;
    const confirm = await service.app.inject({ method: 'GET', url });
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('<form method="post"');
    expect(confirm.body).toContain('g••••••@example.com');
    expect(await runtime.db.select().from(suppressions)).not.toContainEqual(expect.objectContaining({ email }));

    const oneClick = await service.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(oneClick.statusCode).toBe(200);
    expect(oneClick.body).toContain('You are unsubscribed');

    const marketing = marketingRequest('after-oneclick', email);
    const receipt = thankYouRequest('after-oneclick-receipt', { recipient: { email } });
    await request(marketing, receipt);
    expect(await finalStatus(marketing.payload.dedupeKey)).toEqual(['suppressed']);
    expect(await finalStatus(receipt.payload.dedupeKey)).toEqual(['sent']);
    expect(postsFor(marketing.payload.dedupeKey)).toEqual([]);
    expect(await sendRow(runtime.db, marketing.payload.dedupeKey)).toMatchObject({ status: 'suppressed', error: 'recipient suppressed: unsubscribed' });
  });

  it('still honours a link from mail sent before opaque tokens (the address in base64url, signed)', async () => {
    const email = 'katherine.legacy@example.com';
    const answer = await service.app.inject({ method: 'POST', url: `/unsubscribe?token=${signLegacyToken(email, UNSUBSCRIBE_SECRET)}` });
    expect(answer.statusCode).toBe(200);
    expect(await runtime.db.select().from(suppressions)).toContainEqual(expect.objectContaining({ email, reason: 'unsubscribed', source: 'unsubscribe-link' }));
  });

  it('refuses an unsubscribe link whose token was tampered with, or whose id is not ours', async () => {
    const legacy = signLegacyToken('ada@example.com', UNSUBSCRIBE_SECRET);
    const forgedLegacy = `${Buffer.from('bob@example.com').toString('base64url')}.${legacy.split('.')[1] ?? ''}`;
    const mail = marketingRequest('tampered');
    await request(mail);
    await finalStatus(mail.payload.dedupeKey);
    const genuine = unsubscribeUrlOf(mail.payload.dedupeKey).searchParams.get('token') ?? '';
    const [, id = '', mac = ''] = genuine.split('.');
    const otherId = `${id.startsWith('A') ? 'B' : 'A'}${id.slice(1)}`;
    // Signed correctly, but for an id no address has: a token from another installation, say.
    const unknownId = signToken('Q'.repeat(22), UNSUBSCRIBE_SECRET);
    for (const token of [forgedLegacy, `v2.${otherId}.${mac}`, `v2.${id}.${mac.slice(0, -1)}`, unknownId]) {
      const answer = await service.app.inject({ method: 'POST', url: `/unsubscribe?token=${token}` });
      expect(answer.statusCode, token).toBe(400);
      expect(answer.body).toContain('This link is not valid');
    }
    expect((await service.app.inject({ method: 'GET', url: '/unsubscribe' })).statusCode).toBe(400);
    expect(await runtime.db.select().from(suppressions)).not.toContainEqual(expect.objectContaining({ email: 'bob@example.com' }));
  });

  it('unsubscribes the customer of an Email Unsubscribed event on lifecycle.events, and skips marketing to that address', async () => {
    const email = 'linus.event@example.com';
    const event: LifecycleEvent = {
      id: 'lifecycle-event:unsub-1',
      type: 'commerce.event',
      version: 1,
      occurredAt: new Date().toISOString(),
      customerId: 'cust-unsub-event',
      causationId: 'seg-unsub-1',
      payload: {
        call: { type: 'track', event: 'Email Unsubscribed', messageId: 'seg-unsub-1', timestamp: new Date().toISOString(), userId: 'cust-unsub-event', properties: { email, list_id: 'news' } },
      },
    };
    await publish(producer, infra.prefix, 'lifecycleEvents', [event]);
    const [change] = await eventually(() => {
      const found = consentChanges.records.filter((r) => r.key === 'cust-unsub-event').map((r) => ConsentChanged.parse(JSON.parse(r.value)));
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    expect(change).toMatchObject({ id: 'consent:cust-unsub-event:1', causationId: event.id, payload: { state: 'unsubscribed', marketingAllowed: false, consentAt: event.occurredAt, source: 'email-unsubscribed-event', sequence: 1 } });
    const marketing = marketingRequest('after-event', email);
    await request(marketing);
    expect(await finalStatus(marketing.payload.dedupeKey)).toEqual(['suppressed']);
  });
});

describe('SendGrid event webhook', () => {
  it('accepts a correctly signed batch, reports our statuses on messages.events and suppresses a hard bounce', async () => {
    const req = thankYouRequest('webhook');
    await request(req);
    await finalStatus(req.payload.dedupeKey);
    const ids = { dedupeKey: req.payload.dedupeKey, campaignId: req.payload.campaignId, customerId: req.customerId, messageId: req.id };
    const body = JSON.stringify([
      { event: 'delivered', email: 'ada.webhook@example.com', timestamp: 1_795_000_000, sg_event_id: 'ev-d', sg_message_id: 'fake-sg.filter', ...ids },
      { event: 'click', email: 'ada.webhook@example.com', timestamp: 1_795_000_100, sg_event_id: 'ev-c', url: 'https://oakandember.example.com/p/1', ...ids },
      { event: 'bounce', type: 'bounce', email: 'ada.bounced@example.com', timestamp: 1_795_000_200, sg_event_id: 'ev-b', reason: '550 5.1.1 no such user' },
    ]);
    const answer = await service.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: signed(body), payload: body });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ received: 3, published: 2, suppressed: 1, unmatched: 1 });
    await eventually(() => expect(statusEvents(events.records, req.payload.dedupeKey).map((e) => e.payload.status)).toEqual(['sent', 'delivered', 'clicked']), 30_000);
    expect(await runtime.db.select().from(suppressions)).toContainEqual(expect.objectContaining({ email: 'ada.bounced@example.com', reason: 'bounced', source: 'sendgrid-webhook' }));
  });

  it('refuses a batch without a signature or with one that does not match the body', async () => {
    const body = JSON.stringify([{ event: 'spamreport', email: 'eve@example.com' }]);
    const unsigned = await service.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: { 'content-type': 'application/json' }, payload: body });
    expect(unsigned.statusCode).toBe(401);
    const tampered = await service.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: signed('[]'), payload: body });
    expect(tampered.statusCode).toBe(401);
    expect(await runtime.db.select().from(suppressions)).not.toContainEqual(expect.objectContaining({ email: 'eve@example.com' }));
  });

  it('settles a doubtful send as sent when SendGrid reports it delivered', async () => {
    const req = thankYouRequest('settled');
    const claimedAt = new Date(Date.now() - 60_000);
    await runtime.db.insert(sends).values({ dedupeKey: req.payload.dedupeKey, status: 'sending', messageId: req.id, customerId: req.customerId, campaignId: req.payload.campaignId, templateId: req.payload.templateId, claimedAt, updatedAt: claimedAt });
    await request(req);
    expect(await finalStatus(req.payload.dedupeKey)).toEqual(['doubtful']);
    const body = JSON.stringify([{ event: 'delivered', email: 'ada.settled@example.com', sg_event_id: 'ev-s', sg_message_id: 'sg-123.filter', dedupeKey: req.payload.dedupeKey, campaignId: req.payload.campaignId, customerId: req.customerId, messageId: req.id }]);
    expect((await service.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: signed(body), payload: body })).statusCode).toBe(200);
    expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'sent', providerMessageId: 'sg-123' });
    await eventually(() => expect(statusEvents(events.records, req.payload.dedupeKey).map((e) => e.payload.status)).toEqual(['doubtful', 'sent', 'delivered']), 30_000);
    expect(postsFor(req.payload.dedupeKey)).toEqual([]);
  });
});

describe('template preview page', () => {
  it('shows a template rendered with its sample in the chosen locale, with the subject and a live-reload script', async () => {
    const answer = await service.app.inject({ method: 'GET', url: '/preview/post-purchase-thank-you?locale=ja' });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toContain('text/html');
    expect(answer.body).toContain('Subject: <strong>Ada Lovelace様、ご注文ありがとうございます</strong>');
    expect(answer.body).toContain('Ceramic Pour-Over Dripper');
    expect(answer.body).toContain('/preview/post-purchase-thank-you/stamp');
    const stamp = await service.app.inject({ method: 'GET', url: '/preview/post-purchase-thank-you/stamp' });
    expect(stamp.json()).toEqual({ stamp: expect.any(Number) });
  });

  it('answers 404 naming the template that does not exist', async () => {
    const answer = await service.app.inject({ method: 'GET', url: '/preview/no-such-template' });
    expect(answer.statusCode).toBe(404);
    expect(answer.body).toContain('template &#34;no-such-template&#34; not found');
  });
});
