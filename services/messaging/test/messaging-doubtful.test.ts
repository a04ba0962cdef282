import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRequested } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid, type FakeSendGridRequest } from '@lifecycle/tools/fake-sendgrid';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { sends } from '../src/db/schema.ts';
import { withDoubtfulSends, type DoubtfulSends } from '../src/doubtful-sends.ts';
import { sendRow, statusEvents, thankYouRequest } from './message-requests.ts';

/**
 * Doubtful sends on the real broker and database with the fake SendGrid: a call whose answer
 * is lost (the fake answers after messaging's timeout, having taken the mail) ends `doubtful`;
 * SendGrid's signed Event Webhook settles it as sent, or an operator's command lists it and
 * releases it for one more try, which the running service sends.
 */

const TIMEOUT_MS = 300;
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const HOUR = 3_600_000;

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  const config = loadConfig({
    ...serviceEnv(infra),
    PORT: '0',
    SENDGRID_API_KEY: 'SG.test-key',
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_TIMEOUT_MS: String(TIMEOUT_MS),
    SENDGRID_SENDS_PER_SECOND: '1000',
    SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50, lagMaxAgeMs: 0 });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
});

afterAll(async () => {
  await Promise.all([events?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  await sendgrid?.close();
});

function postsFor(dedupeKey: string): FakeSendGridRequest[] {
  return sendgrid.requests.filter((r) => SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey === dedupeKey);
}

function statuses(dedupeKey: string): string[] {
  return statusEvents(events.records, dedupeKey).map((e) => e.payload.status);
}

/** The operator's command, on this file's database and topics, at the operator's `now`. */
function operator<T>(now: Date, run: (doubtful: DoubtfulSends) => Promise<T>): Promise<T> {
  return withDoubtfulSends({ env: serviceEnv(infra), now: () => now }, run);
}

/** Requests a thank-you whose SendGrid call is answered only after messaging gave up waiting: SendGrid took it, messaging cannot know. */
async function doubtfulSend(n: string): Promise<MessageRequested> {
  const req = thankYouRequest(n);
  sendgrid.respondAfter(TIMEOUT_MS * 4);
  try {
    await publish(producer, infra.prefix, 'messagesRequested', [req]);
    await eventually(() => expect(statuses(req.payload.dedupeKey)).toEqual(['doubtful']), 30_000);
  } finally {
    sendgrid.respondAfter(0);
  }
  // The fake took the mail after messaging stopped waiting.
  await eventually(() => expect(postsFor(req.payload.dedupeKey).map((r) => r.status)).toEqual([202]), 10_000);
  return req;
}

function signed(body: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString('base64');
  return { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
}

async function webhook(events: Record<string, unknown>[]): Promise<{ statusCode: number; body: unknown }> {
  const body = JSON.stringify(events);
  const answer = await service.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: signed(body), payload: body });
  return { statusCode: answer.statusCode, body: answer.json() };
}

/** SendGrid's `processed` event for our mail: our custom args come back as top-level fields. */
function processed(req: MessageRequested, sgMessageId: string, eventId: string): Record<string, unknown> {
  return {
    event: 'processed',
    email: req.payload.recipient.email,
    timestamp: Math.floor(Date.now() / 1000),
    sg_event_id: eventId,
    sg_message_id: `${sgMessageId}.filter0001`,
    dedupeKey: req.payload.dedupeKey,
    campaignId: req.payload.campaignId,
    customerId: req.customerId,
    messageId: req.id,
  };
}

describe('a doubtful send', () => {
  it('becomes sent, with SendGrid’s message id, when the signed Event Webhook reports it processed', async () => {
    const req = await doubtfulSend('settled-by-processed');
    const key = req.payload.dedupeKey;
    expect(await sendRow(runtime.db, key)).toMatchObject({ status: 'doubtful', providerMessageId: null });
    const sgMessageId = postsFor(key)[0]?.messageId ?? '';
    expect(sgMessageId).toMatch(/^fake-sg-/);

    const answer = await webhook([processed(req, sgMessageId, 'ev-processed-1')]);
    expect(answer).toEqual({ statusCode: 200, body: { received: 1, published: 2, suppressed: 0, unmatched: 0 } });
    expect(await sendRow(runtime.db, key)).toMatchObject({ status: 'sent', providerMessageId: sgMessageId, error: null, request: null });
    await eventually(() => expect(statuses(key)).toEqual(['doubtful', 'sent', 'processed']), 30_000);
    const sent = statusEvents(events.records, key).find((e) => e.payload.status === 'sent');
    expect(sent?.payload.providerMessageId).toBe(sgMessageId);

    // SendGrid delivers the batch again: nothing changes, nothing is sent.
    expect((await webhook([processed(req, sgMessageId, 'ev-processed-1')])).statusCode).toBe(200);
    expect(await sendRow(runtime.db, key)).toMatchObject({ status: 'sent', providerMessageId: sgMessageId });
    expect(postsFor(key)).toHaveLength(1);
    // Settled, it is no longer the operator's business.
    expect((await operator(new Date(Date.now() + 2 * HOUR), (d) => d.list(HOUR))).map((s) => s.dedupeKey)).not.toContain(key);
    expect(await operator(new Date(), (d) => d.release({ dedupeKey: key }))).toEqual([{ dedupeKey: key, released: false, reason: 'the send is sent, not doubtful' }]);
  });

  it('settles every doubtful send a webhook batch reports, each once, with its own SendGrid id', async () => {
    const [a, b] = [await doubtfulSend('batch-a'), await doubtfulSend('batch-b')];
    const idOf = (req: MessageRequested): string => postsFor(req.payload.dedupeKey)[0]?.messageId ?? '';
    const answer = await webhook([
      processed(a, idOf(a), 'ev-batch-a-processed'),
      { ...processed(a, idOf(a), 'ev-batch-a-delivered'), event: 'delivered' },
      processed(b, idOf(b), 'ev-batch-b-processed'),
    ]);
    // Two settlements (one per key, though `a` is reported twice) and the three events.
    expect(answer).toEqual({ statusCode: 200, body: { received: 3, published: 5, suppressed: 0, unmatched: 0 } });
    for (const req of [a, b]) expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'sent', providerMessageId: idOf(req), request: null });
    expect(idOf(a)).not.toBe(idOf(b));
    await eventually(() => expect(statuses(a.payload.dedupeKey)).toEqual(['doubtful', 'sent', 'processed', 'delivered']), 30_000);
    await eventually(() => expect(statuses(b.payload.dedupeKey)).toEqual(['doubtful', 'sent', 'processed']), 30_000);
  });

  it('is listed only after the wait, and an operator’s release has the running service send it once more', async () => {
    const req = await doubtfulSend('released');
    const key = req.payload.dedupeKey;
    const row = await sendRow(runtime.db, key);
    // The request that claimed the key is kept with the doubtful row: what a release publishes again.
    expect(MessageRequested.parse(row?.request)).toEqual(req);

    expect((await operator(new Date(), (d) => d.list(HOUR))).map((s) => s.dedupeKey)).not.toContain(key);
    const listed = await operator(new Date(Date.now() + 2 * HOUR), (d) => d.list(HOUR));
    expect(listed.find((s) => s.dedupeKey === key)).toMatchObject({ customerId: req.customerId, campaignId: req.payload.campaignId, status: 'doubtful', releasable: true, releasedAt: null });

    const at = new Date(Date.now() + 2 * HOUR);
    expect(await operator(at, (d) => d.release({ dedupeKey: key }))).toEqual([{ dedupeKey: key, released: true, republished: false, customerId: req.customerId, campaignId: req.payload.campaignId }]);
    await eventually(() => expect(statuses(key)).toEqual(['doubtful', 'sent']), 30_000);
    expect(postsFor(key).map((r) => r.status)).toEqual([202, 202]);
    const second = postsFor(key)[1]?.messageId;
    expect(await sendRow(runtime.db, key)).toMatchObject({ status: 'sent', providerMessageId: second, releasedAt: at, request: null });

    // Done: not listed, not released again, not sent again.
    expect((await operator(new Date(Date.now() + 2 * HOUR), (d) => d.list(HOUR))).map((s) => s.dedupeKey)).not.toContain(key);
    expect(await operator(new Date(), (d) => d.release({ dedupeKey: key }))).toEqual([{ dedupeKey: key, released: false, reason: 'the send is sent, not doubtful' }]);
    expect(postsFor(key)).toHaveLength(2);
  });

  it('released for all older than an age: sends each, keeps a request a crashed attempt left behind, and names what it cannot release', async () => {
    // An attempt crashed mid-call, before requests were kept on the row: its redelivery marks it doubtful and keeps the request it carries.
    const crashed = thankYouRequest('crashed-before-kept');
    const at = new Date(Date.now() - 60_000);
    const base = { status: 'sending' as const, customerId: crashed.customerId, campaignId: crashed.payload.campaignId, templateId: crashed.payload.templateId, claimedAt: at, updatedAt: at };
    await runtime.db.insert(sends).values({ ...base, dedupeKey: crashed.payload.dedupeKey, messageId: crashed.id, claimToken: 'lost-attempt' });
    await publish(producer, infra.prefix, 'messagesRequested', [crashed]);
    await eventually(() => expect(statuses(crashed.payload.dedupeKey)).toEqual(['doubtful']), 30_000);
    expect(MessageRequested.parse((await sendRow(runtime.db, crashed.payload.dedupeKey))?.request)).toEqual(crashed);
    // A doubtful row from before requests were kept, never redelivered: nothing to publish.
    const old = thankYouRequest('doubtful-without-request');
    await runtime.db.insert(sends).values({ ...base, status: 'doubtful', dedupeKey: old.payload.dedupeKey, messageId: old.id });
    const timedOut = await doubtfulSend('release-all');

    const outcomes = await operator(new Date(Date.now() + 2 * HOUR), (d) => d.release({ olderThanMs: HOUR }));
    expect(outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dedupeKey: crashed.payload.dedupeKey, released: true }),
        expect.objectContaining({ dedupeKey: timedOut.payload.dedupeKey, released: true }),
        { dedupeKey: old.payload.dedupeKey, released: false, reason: 'no request stored with it (claimed before requests were kept): ask the campaign to request it again' },
      ]),
    );
    expect(outcomes).toHaveLength(3);
    await eventually(() => {
      expect(statuses(crashed.payload.dedupeKey)).toEqual(['doubtful', 'sent']);
      expect(statuses(timedOut.payload.dedupeKey)).toEqual(['doubtful', 'sent']);
    }, 30_000);
    expect(postsFor(crashed.payload.dedupeKey).map((r) => r.status)).toEqual([202]);
    expect(postsFor(timedOut.payload.dedupeKey).map((r) => r.status)).toEqual([202, 202]);
    expect(await sendRow(runtime.db, old.payload.dedupeKey)).toMatchObject({ status: 'doubtful' });
  });

  it('released but not taken up (a release from before the outbox whose publish failed) is published by the next release, or settled by a late SendGrid event without a second copy', async () => {
    const releasedAt = new Date(Date.now() - 60_000);
    const pendingRow = (req: MessageRequested) => ({
      dedupeKey: req.payload.dedupeKey,
      status: 'claimed' as const,
      messageId: req.id,
      customerId: req.customerId,
      campaignId: req.payload.campaignId,
      templateId: req.payload.templateId,
      request: req,
      claimToken: null,
      releasedAt,
      claimedAt: releasedAt,
      updatedAt: releasedAt,
    });
    const unpublished = thankYouRequest('release-unpublished');
    const late = thankYouRequest('release-overtaken');
    await runtime.db.insert(sends).values([pendingRow(unpublished), pendingRow(late)]);
    const pending = await operator(new Date(), (d) => d.list(HOUR));
    expect(pending.filter((s) => s.status === 'claimed').map((s) => s.dedupeKey).sort()).toEqual([late.payload.dedupeKey, unpublished.payload.dedupeKey].sort());

    // The first try's processed event arrives after the release: that try went out, the release must not send again.
    expect((await webhook([processed(late, 'sg-first-try', 'ev-late-1')])).statusCode).toBe(200);
    expect(await sendRow(runtime.db, late.payload.dedupeKey)).toMatchObject({ status: 'sent', providerMessageId: 'sg-first-try' });

    expect(await operator(new Date(), (d) => d.release({ dedupeKey: unpublished.payload.dedupeKey }))).toEqual([
      { dedupeKey: unpublished.payload.dedupeKey, released: true, republished: true, customerId: unpublished.customerId, campaignId: unpublished.payload.campaignId },
    ]);
    expect(await operator(new Date(), (d) => d.release({ dedupeKey: late.payload.dedupeKey }))).toMatchObject([{ released: false, reason: 'the send is sent, not doubtful' }]);
    await eventually(() => expect(statuses(unpublished.payload.dedupeKey)).toEqual(['sent']), 30_000);
    expect(postsFor(unpublished.payload.dedupeKey).map((r) => r.status)).toEqual([202]);
    expect(postsFor(late.payload.dedupeKey)).toEqual([]);
  });
});

describe('GET /metrics', () => {
  it('shows messages by status, the process’s counters, consumer lag of messaging’s groups and process metrics, and the documented JSON', async () => {
    const text = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/^lifecycle_messaging_messages\{status="doubtful"\} 1$/m);
    expect(text).toMatch(/^lifecycle_messaging_outcomes_total\{outcome="doubtful"\} 6$/m);
    expect(text).toContain('# TYPE lifecycle_messaging_provider_retries_total counter');
    expect(text).toMatch(/^lifecycle_messaging_webhook_events_total\{event="processed"\} 5$/m);
    for (const group of ['lifecycle-messaging', 'lifecycle-messaging-unsubscribes']) {
      expect(text).toMatch(new RegExp(`^lifecycle_kafka_consumer_lag\\{group="${infra.prefix.replace('.', '\\.')}${group}",topic="[^"]+",partition="0"\\} \\d+$`, 'm'));
    }
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    const json = (await service.app.inject({ method: 'GET', url: '/metrics?format=json' })).json();
    expect(json).toMatchObject({ messages: { doubtful: 1, claimed: 0, sending: 0 }, outcomes: { doubtful: 6, sent: 4 }, retries: {}, webhookEvents: { processed: 5, delivered: 1 } });
  });
});
