import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter, topicName } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid, type FakeSendGridRequest } from '@lifecycle/tools/fake-sendgrid';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { sends } from '../src/db/schema.ts';
import { sendRow, statusEvents, thankYouRequest } from './message-requests.ts';
import type { MessageRequested } from '@lifecycle/contracts';

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;
let dead: Awaited<ReturnType<typeof collectTopic>>;

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0', SENDGRID_API_KEY: 'SG.test-key', SENDGRID_BASE_URL: sendgrid.url });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50 });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
  dead = await collectTopic(infra, 'messagesRequested', { deadLetter: true });
});

afterAll(async () => {
  await Promise.all([events?.stop(), dead?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
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

/**
 * Records of one customer are handled in order, so once a later request of the same customer
 * has been sent, everything before it is finished too.
 */
async function afterEverythingBefore(customerId: string): Promise<void> {
  const marker = thankYouRequest(`${customerId}-marker`, { dedupeKey: `marker:${customerId}:${Date.now()}` });
  await request({ ...marker, customerId });
  await eventually(() => expect(postsFor(marker.payload.dedupeKey).filter((r) => r.status === 202)).toHaveLength(1), 30_000);
}

describe('messaging with SendGrid on a real broker and database', () => {
  it('sends a requested thank-you once, to the recipient, with the order lines and our ids as custom args', async () => {
    const req = thankYouRequest('one');
    await request(req);
    const [post] = await eventually(() => {
      const posts = postsFor(req.payload.dedupeKey);
      expect(posts).toHaveLength(1);
      return posts;
    }, 30_000);
    const mail = SendGridMail.parse(post?.body);
    expect(mail.personalizations[0]?.to).toEqual([{ email: 'ada.one@example.com', name: 'Ada Lovelace' }]);
    expect(mail.from).toEqual({ email: 'orders@oakandember.example.com', name: 'Oak & Ember' });
    expect(mail.subject).toBe('Thank you for your order, Ada!');
    const text = mail.content?.find((c) => c.type === 'text/plain')?.value ?? '';
    expect(text).toContain('- Ceramic Dripper × 1 — $32.00 each');
    expect(text).toContain('- Paper Filters × 3 — $9.28 each');
    expect(text).toContain('Total: $59.85');
    expect(mail.categories).toEqual(['post-purchase-thank-you', 'transactional']);
    expect(mail.custom_args).toEqual({ messageId: 'req-one', dedupeKey: req.payload.dedupeKey, campaignId: 'post-purchase', customerId: 'cust-one' });

    const sent = await eventually(() => {
      const found = statusEvents(events.records, req.payload.dedupeKey);
      expect(found).toHaveLength(1);
      return found[0];
    });
    expect(sent).toMatchObject({ customerId: 'cust-one', causationId: 'req-one', payload: { status: 'sent', providerMessageId: post?.messageId } });
    expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'sent', providerMessageId: post?.messageId, messageId: 'req-one' });
  });

  it('sends no second thank-you when the request is redelivered', async () => {
    const req = thankYouRequest('twice');
    await request(req);
    await eventually(() => expect(postsFor(req.payload.dedupeKey)).toHaveLength(1), 30_000);
    await request(req, { ...req, id: 'req-twice-reproduced' });
    await afterEverythingBefore(req.customerId);
    expect(postsFor(req.payload.dedupeKey)).toHaveLength(1);
    expect(statusEvents(events.records, req.payload.dedupeKey).map((e) => e.payload.status)).toEqual(['sent']);
  });

  it('tries again after a SendGrid 500 and ends with exactly one accepted send', async () => {
    const req = thankYouRequest('flaky');
    sendgrid.failNext(500);
    await request(req);
    await eventually(() => expect(postsFor(req.payload.dedupeKey).map((r) => r.status)).toEqual([500, 202]), 30_000);
    await eventually(async () => expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'sent', error: null }));
    await afterEverythingBefore(req.customerId);
    expect(postsFor(req.payload.dedupeKey).map((r) => r.status)).toEqual([500, 202]);
    expect(dead.records.filter((r) => r.key === req.customerId)).toEqual([]);
  });

  it('marks a message SendGrid refuses with a 400 as failed, with SendGrid’s reason, and does not try again', async () => {
    const req = thankYouRequest('refused');
    sendgrid.failNext(400, 1, 'The from address does not match a verified Sender Identity.');
    await request(req);
    await eventually(async () =>
      expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({
        status: 'failed',
        error: 'The from address does not match a verified Sender Identity.',
        providerMessageId: null,
      }),
    30_000);
    await afterEverythingBefore(req.customerId);
    expect(postsFor(req.payload.dedupeKey).map((r) => r.status)).toEqual([400]);
    expect(statusEvents(events.records, req.payload.dedupeKey).map((e) => e.payload)).toEqual([
      { dedupeKey: req.payload.dedupeKey, campaignId: 'post-purchase', status: 'failed', error: 'The from address does not match a verified Sender Identity.' },
    ]);
  });

  it('does not send when an earlier attempt stopped mid-send, and reports the message as doubtful', async () => {
    const req = thankYouRequest('crashed');
    const claimedAt = new Date(Date.now() - 60_000);
    await runtime.db.insert(sends).values({
      dedupeKey: req.payload.dedupeKey,
      status: 'sending',
      messageId: req.id,
      customerId: req.customerId,
      campaignId: req.payload.campaignId,
      templateId: req.payload.templateId,
      claimedAt,
      updatedAt: claimedAt,
    });
    await request(req);
    await eventually(() => expect(statusEvents(events.records, req.payload.dedupeKey).map((e) => e.payload.status)).toEqual(['doubtful']), 30_000);
    expect(postsFor(req.payload.dedupeKey)).toEqual([]);
    expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'doubtful' });
  });

  it('sends a request that breaks the contract to messages.requested.dlq with the reason, and keeps going', async () => {
    const bad = { ...thankYouRequest('invalid'), payload: { ...thankYouRequest('invalid').payload, templateId: 'Not A Folder!' } };
    await producer.send({ topic: topicName(infra.prefix, 'messagesRequested'), messages: [{ key: bad.customerId, value: JSON.stringify(bad) }] });
    const [letter] = await eventually(() => {
      const letters = dead.records.filter((r) => r.key === bad.customerId).map((r) => DeadLetter.parse(JSON.parse(r.value)));
      expect(letters).toHaveLength(1);
      return letters;
    }, 30_000);
    expect(letter?.reason).toBe('value does not match the topic schema');
    expect(letter?.errors).toEqual(['payload.templateId: template ids are kebab-case folder names']);
    expect(Buffer.from(letter?.value ?? '', 'base64').toString('utf8')).toBe(JSON.stringify(bad));
    await afterEverythingBefore(bad.customerId);
  });

  it('fails a request for a template that does not exist and dead-letters it with the reason, without a crash', async () => {
    const req = thankYouRequest('no-template', { templateId: 'no-such-template' });
    await request(req);
    const [letter] = await eventually(() => {
      const letters = dead.records.filter((r) => r.key === req.customerId).map((r) => DeadLetter.parse(JSON.parse(r.value)));
      expect(letters).toHaveLength(1);
      return letters;
    }, 30_000);
    expect(letter?.reason).toBe('message could not be rendered');
    expect(letter?.errors[0]).toMatch(/^template "no-such-template" not found/);
    expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^template "no-such-template" not found/) });
    await afterEverythingBefore(req.customerId);
    expect(postsFor(req.payload.dedupeKey)).toEqual([]);
  });

  it('answers /healthz, and /readyz once its consumer has joined and the database answers', async () => {
    const health = await service.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    await eventually(async () => {
      const ready = await service.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready', checks: { consumers: true, database: true } });
    });
  });
});
