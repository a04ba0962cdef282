import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '@lifecycle/contracts';
import type { Producer } from '@lifecycle/kit';
import { startFakeSendGrid, SendGridMail, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { repoRoot } from '@lifecycle/tools/kafka-broker';
import { assertNoPersonalData } from '@lifecycle/tools/log-privacy';
import { startServiceProcess, type ServiceProcess } from '@lifecycle/tools/service-process';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { signLegacyToken } from '../../services/messaging/src/domain/unsubscribe-token.ts';

/**
 * The walking skeleton, end to end: the four services as separate processes on the real broker
 * and database, an Order Completed in, one thank-you email out through the SendGrid API.
 */

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let producer: Producer;
const services: ServiceProcess[] = [];
let scheduler: ServiceProcess;

const orderedAt = new Date();
const CUSTOMER = { email: 'Mia.Chen@Example.com', names: ['Mia', 'Chen'] };
const UNSUBSCRIBE_SECRET = 'e2e-unsubscribe-secret-0123456789abcdef';

const hours = (n: number): Date => new Date(orderedAt.getTime() + n * 3_600_000);

function orderCompleted(messageId: string, orderId: string, products: { name: string; price: number; quantity: number }[], at = orderedAt) {
  return {
    type: 'track',
    messageId,
    timestamp: at.toISOString(),
    userId: 'user-e2e',
    event: 'Order Completed',
    context: { traits: { email: CUSTOMER.email, first_name: 'Mia', last_name: 'Chen' } },
    properties: { order_id: orderId, total: products.reduce((t, p) => t + p.price * p.quantity, 0), currency: 'USD', products },
  };
}

async function publishRaw(value: unknown): Promise<void> {
  await producer.send({ topic: topicName(infra.prefix, 'commerceEvents'), messages: [{ key: 'user-e2e', value: JSON.stringify(value) }] });
}

async function setClock(now: Date): Promise<void> {
  const response = await fetch(`${scheduler.url}/admin/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ now: now.toISOString() }) });
  expect(response.status).toBe(200);
}

async function pendingThankYous(): Promise<number> {
  const body: { campaigns: { id: string; jobs: Record<string, number> }[] } = await (await fetch(`${scheduler.url}/campaigns`)).json();
  return body.campaigns.find((c) => c.id === 'post-purchase-thank-you')?.jobs.pending ?? 0;
}

function mailText(mail: SendGridMail): string {
  return (mail.content ?? []).map((c) => c.value).join('\n');
}

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  producer = await connectedProducer(infra);
  // The shipped campaign, with a two-hour delay so the test can show nothing goes out early.
  const campaigns = await mkdtemp(join(tmpdir(), 'lifecycle-campaigns-'));
  const shipped = await readFile(join(repoRoot, 'campaigns', 'post-purchase-thank-you.yaml'), 'utf8');
  expect(shipped).toMatch(/^delay: .*$/m);
  await writeFile(join(campaigns, 'post-purchase-thank-you.yaml'), shipped.replace(/^delay: .*$/m, 'delay: PT2H'));
  const outbox = await mkdtemp(join(tmpdir(), 'lifecycle-outbox-'));
  const env = {
    ...serviceEnv(infra),
    LOG_LEVEL: 'info',
    CLOCK: 'simulated',
    CAMPAIGNS_DIR: campaigns,
    SENDGRID_API_KEY: 'SG.e2e-test-key',
    SENDGRID_BASE_URL: sendgrid.url,
    OUTBOX_DIR: outbox,
    UNSUBSCRIBE_SECRET,
  };
  for (const name of ['ingestion', 'classifier', 'scheduler', 'messaging']) services.push(await startServiceProcess(name, env));
  scheduler = services.find((s) => s.name === 'scheduler') ?? services[2]!;
}, 180_000);

afterAll(async () => {
  await producer?.disconnect();
  await sendgrid?.close();
  // Every service stops cleanly on SIGTERM, within its 10 s deadline.
  const codes = await Promise.all(services.map(async (s) => [s.name, await s.stop(15_000)] as const));
  // On failure, show the last lines the service printed: they say why it did not stop cleanly.
  const tails = Object.fromEntries(codes.filter(([, code]) => code !== 0).map(([name]) => [name, services.find((s) => s.name === name)?.output().split('\n').slice(-15).join('\n')]));
  expect(Object.fromEntries(codes), JSON.stringify(tails, null, 1)).toEqual({ ingestion: 0, classifier: 0, scheduler: 0, messaging: 0 });
});

describe('an order on Kafka becomes one thank-you email', () => {
  it('sends the thank-you once the delay has passed, to the customer, with the order lines', async () => {
    await publishRaw(orderCompleted('e2e-order-1', 'A-1001', [
      { name: 'Ceramic Pour-Over', price: 32, quantity: 1 },
      { name: 'Paper Filters (100)', price: 6.5, quantity: 2 },
    ]));
    await eventually(async () => expect(await pendingThankYous()).toBe(1), 30_000);
    expect(sendgrid.requests).toHaveLength(0);

    await setClock(hours(3));
    const [request] = await eventually(() => {
      expect(sendgrid.accepted()).toHaveLength(1);
      return sendgrid.accepted();
    }, 30_000);
    const mail = SendGridMail.parse(request?.body);
    expect(mail.personalizations[0]?.to[0]?.email).toBe('mia.chen@example.com');
    expect(mail.subject).toMatch(/thank/i);
    const text = mailText(mail);
    expect(text).toContain('Mia');
    expect(text).toContain('Ceramic Pour-Over');
    expect(text).toContain('Paper Filters (100)');
    expect(text).toContain('$45.00');
  });

  it('sends nothing more when the same order event is published again', async () => {
    await publishRaw(orderCompleted('e2e-order-1', 'A-1001', [{ name: 'Ceramic Pour-Over', price: 32, quantity: 1 }]));
    // A later order of the same customer sits behind the repeat on the same partition: once its
    // email has gone out, the repeat has been through every service. Placed now, with the
    // scheduler's clock already 3 h on, its thank-you is overdue when planned and goes at once.
    await publishRaw(orderCompleted('e2e-order-2', 'A-1002', [{ name: 'Kettle', price: 49, quantity: 1 }], new Date()));
    await eventually(() => expect(sendgrid.accepted()).toHaveLength(2), 30_000);
    // The scheduler publishes the request before its job update commits, so the mail can be out a moment before the job reads sent.
    await eventually(async () => expect(await pendingThankYous()).toBe(0), 5_000);
    const second = SendGridMail.parse(sendgrid.accepted()[1]?.body);
    expect(mailText(second)).toContain('Kettle');
    expect(mailText(second)).not.toContain('Ceramic');
    expect(sendgrid.requests).toHaveLength(2);
  });

  it('prints no customer address or name above debug, in any service, even for a link that carries the address', async () => {
    const messaging = services.find((s) => s.name === 'messaging');
    // A link of mail sent before opaque tokens: the address in base64url. Its GET changes nothing.
    const page = await fetch(`${messaging?.url}/unsubscribe?token=${signLegacyToken(CUSTOMER.email, UNSUBSCRIBE_SECRET)}`);
    expect(page.status).toBe(200);
    // The request's own log line is there to check, so the check below covers it.
    await eventually(() => expect(messaging?.output()).toMatch(/"url":"\/unsubscribe[?"][^\n]*"msg":"incoming request"/));
    for (const service of services) {
      const checked = assertNoPersonalData(service.output(), { emails: [CUSTOMER.email], names: CUSTOMER.names }, { minLines: 3 });
      expect(checked, service.name).toBeGreaterThanOrEqual(3);
    }
  });
});
