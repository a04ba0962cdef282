import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentChanged, MessageEvent, type MessageRequested } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { loadConfig, migrationsFolder, startMessaging, type Messaging } from '@lifecycle/messaging';
import { repoRoot } from '../kafka-broker.ts';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '../test-kit.ts';
import { DEMO_WEBHOOK_PUBLIC_KEY } from './demo-webhook-key.ts';
import { startMailEngagement, type MailEngagement } from './mail-engagement.ts';

/**
 * The demo's engagement against a real messaging (demo key, outbox transport) on the real broker
 * and database: what the signed webhook posts must be what messaging accepts, and an unsubscribe
 * must reach `consent.changes` as any downstream service reads it.
 */

let infra: TestInfra;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let messagingUrl: string;
let events: Awaited<ReturnType<typeof collectTopic>>;
let consent: Awaited<ReturnType<typeof collectTopic>>;
const outboxDir = mkdtempSync(join(tmpdir(), 'demo-engagement-'));
const engagements: MailEngagement[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({
    ...serviceEnv(infra),
    PORT: '0',
    OUTBOX_DIR: outboxDir,
    UNSUBSCRIBE_SECRET: 'demo-engagement-test-secret-0123456789',
    SENDGRID_WEBHOOK_PUBLIC_KEY: DEMO_WEBHOOK_PUBLIC_KEY,
  });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50 });
  messagingUrl = await service.app.listen({ host: '127.0.0.1', port: 0 });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
  consent = await collectTopic(infra, 'consentChanges');
});

afterAll(async () => {
  await Promise.all([...engagements.map((e) => e.stop()), events?.stop(), consent?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  rmSync(outboxDir, { recursive: true, force: true });
});

const winBackSample: Record<string, unknown> = JSON.parse(readFileSync(join(repoRoot, 'templates', 'win-back-lapsed', 'sample.json'), 'utf8'));

function marketingRequest(n: string, sentAt: Date): MessageRequested {
  const customerId = `demo-${n}`;
  return {
    id: `req-${n}`,
    type: 'message.requested',
    version: 1,
    occurredAt: sentAt.toISOString(),
    customerId,
    causationId: `stage-${n}`,
    payload: {
      dedupeKey: `win-back-lapsed:${customerId}:${n}`,
      campaignId: 'win-back-lapsed',
      templateId: 'win-back-lapsed',
      category: 'marketing',
      recipient: { email: `${customerId}@example.com`, name: 'Ada Lovelace' },
      locale: 'en-US',
      timeZone: 'Europe/Berlin',
      // The template's own sample: the data a real win-back request carries.
      data: winBackSample,
    },
  };
}

const statuses = (dedupeKey: string): MessageEvent[] => events.records.map((r) => MessageEvent.parse(JSON.parse(r.value))).filter((e) => e.payload.dedupeKey === dedupeKey);

describe('mail engagement through messaging’s signed SendGrid webhook', () => {
  it('is accepted as opened, clicked and unsubscribed, and the unsubscribe reaches consent.changes', async () => {
    const said: string[] = [];
    const engagement = await startMailEngagement({ brokers: infra.brokers, topicPrefix: infra.prefix, messagingUrl, say: (line) => said.push(line) });
    engagements.push(engagement);
    const sentAt = new Date(Date.now() - 3_600_000);
    const mail = marketingRequest('unsub', sentAt);
    const openedAt = new Date(sentAt.getTime() + 10 * 60_000);
    const clickedAt = new Date(openedAt.getTime() + 60_000);
    const unsubscribedAt = new Date(clickedAt.getTime() + 60_000);
    await publish(producer, infra.prefix, 'messagesRequested', [mail]);
    engagement.add(mail, { openedAt, clickedAt, unsubscribedAt, calls: [] });

    // Nothing is posted before messaging reports the mail sent; then all three at once.
    await eventually(async () => {
      await engagement.report(new Date(unsubscribedAt.getTime() + 60_000));
      expect(engagement.totals).toEqual({ opened: 1, clicked: 1, unsubscribed: 1 });
    }, 30_000);
    await eventually(() => expect(statuses(mail.payload.dedupeKey).map((e) => e.payload.status)).toEqual(['sent', 'opened', 'clicked', 'unsubscribed']), 30_000);
    const clicked = statuses(mail.payload.dedupeKey).find((e) => e.payload.status === 'clicked');
    expect(clicked?.payload).toMatchObject({ campaignId: 'win-back-lapsed', providerTimestamp: new Date(Math.floor(clickedAt.getTime() / 1000) * 1000).toISOString() });
    expect(clicked?.payload.url).toContain('utm_campaign=win-back-lapsed');

    const change = await eventually(() => {
      const found = consent.records.map((r) => ConsentChanged.parse(JSON.parse(r.value))).find((c) => c.customerId === 'demo-unsub');
      expect(found).toBeDefined();
      return found;
    }, 30_000);
    expect(change?.payload).toMatchObject({ state: 'unsubscribed', marketingAllowed: false, source: 'sendgrid-webhook', consentAt: new Date(Math.floor(unsubscribedAt.getTime() / 1000) * 1000).toISOString() });
    expect(said).toEqual([]);
  });

  it('says once how to start the stack when messaging holds another key, and goes on without reporting', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const said: string[] = [];
    const engagement = await startMailEngagement({ brokers: infra.brokers, topicPrefix: infra.prefix, messagingUrl, say: (line) => said.push(line), privateKeyPem: other });
    engagements.push(engagement);
    const sentAt = new Date(Date.now() - 3_600_000);
    const mails = [marketingRequest('other-key-1', sentAt), marketingRequest('other-key-2', sentAt)];
    await publish(producer, infra.prefix, 'messagesRequested', mails);
    for (const mail of mails) engagement.add(mail, { openedAt: new Date(sentAt.getTime() + 60_000), clickedAt: null, unsubscribedAt: null, calls: [] });
    await eventually(() => expect(engagement.pending().waiting).toBe(0), 30_000);
    await engagement.report(new Date());
    await engagement.report(new Date());
    expect(engagement.totals).toEqual({ opened: 0, clicked: 0, unsubscribed: 0 });
    expect(said[0]).toMatch(/opens, clicks and unsubscribes are not reported: .*another key.*401/);
    expect(said.filter((l) => l.startsWith('opens, clicks'))).toHaveLength(1);
    expect(said.join('\n')).toContain('CLOCK=simulated');
    expect(statuses(mails[0]?.payload.dedupeKey ?? '').map((e) => e.payload.status)).toEqual(['sent']);
  });
});
