import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import type { OutgoingMail } from '../domain/outgoing-mail.ts';
import { createSendGridTransport } from './sendgrid-transport.ts';

const mail: OutgoingMail = {
  from: { email: 'orders@shop.example.com', name: 'Oak & Ember' },
  to: { email: 'ada@example.com', name: 'Ada Lovelace' },
  subject: 'Thank you for your order, Ada!',
  text: 'Hi Ada',
  html: '<p>Hi Ada</p>',
  categories: ['post-purchase-thank-you', 'transactional'],
  tags: { messageId: 'req-1', dedupeKey: 'thank-you:c1:o1', campaignId: 'thank-you', customerId: 'c1' },
};

let sendgrid: FakeSendGrid;

beforeAll(async () => {
  sendgrid = await startFakeSendGrid();
});
beforeEach(() => sendgrid.reset());
afterAll(async () => {
  await sendgrid.close();
});

const transport = (baseUrl: string, timeoutMs = 5_000) => createSendGridTransport({ apiKey: 'SG.test-key', baseUrl, timeoutMs });

describe('SendGrid transport', () => {
  it('posts one mail with both parts, categories and our ids as custom args, and returns the X-Message-Id', async () => {
    const outcome = await transport(sendgrid.url).send(mail);
    expect(outcome).toEqual({ kind: 'accepted', providerMessageId: 'fake-sg-000001' });
    expect(sendgrid.requests).toHaveLength(1);
    const request = sendgrid.requests[0];
    expect(request?.headers.authorization).toBe('Bearer SG.test-key');
    const body = SendGridMail.parse(request?.body);
    expect(body.personalizations[0]?.to).toEqual([{ email: 'ada@example.com', name: 'Ada Lovelace' }]);
    expect(body.from).toEqual({ email: 'orders@shop.example.com', name: 'Oak & Ember' });
    expect(body.subject).toBe('Thank you for your order, Ada!');
    expect(body.content).toEqual([
      { type: 'text/plain', value: 'Hi Ada' },
      { type: 'text/html', value: '<p>Hi Ada</p>' },
    ]);
    expect(body.categories).toEqual(['post-purchase-thank-you', 'transactional']);
    expect(body.custom_args).toEqual({ messageId: 'req-1', dedupeKey: 'thank-you:c1:o1', campaignId: 'thank-you', customerId: 'c1' });
  });

  it('reports a 5xx or 429 as not accepted and worth retrying', async () => {
    sendgrid.failNext(500);
    sendgrid.failNext(429);
    expect(await transport(sendgrid.url).send(mail)).toEqual({ kind: 'retryable', status: 500, error: 'internal server error' });
    expect(await transport(sendgrid.url).send(mail)).toEqual({ kind: 'retryable', status: 429, error: 'too many requests' });
  });

  it('passes on how long a 429 asked to wait, from X-RateLimit-Reset', async () => {
    sendgrid.rateLimitNext(1, 3);
    const outcome = await transport(sendgrid.url).send(mail);
    expect(outcome).toMatchObject({ kind: 'retryable', status: 429, error: 'too many requests' });
    const wait = outcome.kind === 'retryable' ? (outcome.retryAfterMs ?? -1) : -1;
    expect(wait).toBeGreaterThan(2_000);
    expect(wait).toBeLessThanOrEqual(4_000);
  });

  it('reports a 4xx as rejected with SendGrid’s error text', async () => {
    sendgrid.failNext(400, 1, 'The from address does not match a verified Sender Identity.');
    expect(await transport(sendgrid.url).send(mail)).toEqual({
      kind: 'rejected',
      status: 400,
      error: 'The from address does not match a verified Sender Identity.',
    });
  });

  it('reports a refused connection as retryable: nothing can have been sent', async () => {
    const closed = await startFakeSendGrid();
    await closed.close();
    const outcome = await transport(closed.url).send(mail);
    expect(outcome).toMatchObject({ kind: 'retryable', status: null, error: 'SendGrid unreachable: ECONNREFUSED' });
  });

  describe('when SendGrid never answers', () => {
    let silent: Server;
    let url: string;
    beforeAll(async () => {
      silent = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    });
    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('reports the outcome as unknown: the request may have been accepted', async () => {
      const outcome = await transport(url, 200).send(mail);
      expect(outcome).toMatchObject({ kind: 'unknown' });
    });
  });
});
