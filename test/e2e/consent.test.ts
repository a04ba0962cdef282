import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName, type LifecycleEvent } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { repoRoot } from '@lifecycle/tools/kafka-broker';
import { connectedProducer, createTestInfra, eventually, serviceEnv, trackedEvent, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig as loadClassifierConfig } from '../../services/classifier/src/config.ts';
import { startClassifier, type Classifier } from '../../services/classifier/src/service.ts';
import { loadThresholds } from '../../services/classifier/src/thresholds-file.ts';
import { startMessaging, type Messaging } from '../../services/messaging/src/service.ts';
import { loadConfig as loadMessagingConfig } from '../../services/messaging/src/config.ts';
import { liftConsent } from '../../services/messaging/src/consent-lift.ts';
import { loadCampaigns } from '../../services/scheduler/src/campaign-files.ts';
import { loadConfig as loadSchedulerConfig } from '../../services/scheduler/src/config.ts';
import { simulatedClock, type SimulatedClock } from '../../services/scheduler/src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../../services/scheduler/src/service.ts';

/**
 * Consent has one owner. Messaging, the scheduler and the classifier run in this process on the
 * real broker and database, with the shipped cross-sell campaign (marketing, 10 days after an
 * order) and the fake SendGrid. After a one-click unsubscribe, a re-subscription, a hard bounce
 * and an operator's lift, the scheduler's stats, the classifier's profile and what SendGrid
 * received all agree. Every instant is injected: events carry their time as their Kafka
 * timestamp too, messaging and the scheduler run on the test's clock.
 */

const S = new Date('2027-01-04T14:00:00.000Z'); // 09:00 in New York, the store's zone
const day = (n: number, hours = 0): Date => new Date(S.getTime() + n * 86_400_000 + hours * 3_600_000);
const UNSUBSCRIBE_SECRET = 'consent-test-secret-0123456789abcdef0123';
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let producer: Producer;
const runtimes: Runtime[] = [];
let messaging: Messaging;
let scheduler: Scheduler;
let classifier: Classifier;
let clock: SimulatedClock;
/** Messaging's clock: consent times of links and lifts, row times. */
let messagingNow = day(0);

let seq = 0;
function track(customerId: string, event: string, properties: Record<string, unknown>, at: Date): LifecycleEvent {
  return trackedEvent({ id: `ev-${++seq}-${customerId}`, customerId, event, properties, at });
}

const order = (customerId: string, orderId: string, at: Date) =>
  track(customerId, 'Order Completed', { order_id: orderId, total: 32, currency: 'USD', products: [{ name: 'Ceramic Pour-Over Dripper', sku: 'DRIP-CER-01', price: 32, quantity: 1, category: 'Brewing' }] }, at);

/** Publishes events with their own time as the Kafka timestamp: they arrive when they happen. */
async function publishEvents(...events: LifecycleEvent[]): Promise<void> {
  await producer.send({
    topic: topicName(infra.prefix, 'lifecycleEvents'),
    messages: events.map((e) => ({ key: e.customerId, value: JSON.stringify(e), timestamp: String(Date.parse(e.occurredAt)) })),
  });
}

async function setClock(at: Date): Promise<void> {
  messagingNow = at;
  const res = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: at.toISOString() } });
  expect(res.statusCode).toBe(200);
}

interface CampaignStats {
  sent: number;
  suppressed: number;
  pending: number;
  skipped: { total: number; byReason: Record<string, number> };
}

async function crossSellStats(): Promise<CampaignStats> {
  const res = await scheduler.app.inject({ url: '/campaigns/cross-sell/stats' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function profileConsent(customerId: string): Promise<unknown> {
  const res = await classifier.app.inject({ url: `/customers/${customerId}` });
  expect(res.statusCode).toBe(200);
  return res.json().profile.consent;
}

/** Cross-sell mail SendGrid accepted, per recipient. */
function crossSellsTo(customerId: string): SendGridMail[] {
  return sendgrid
    .accepted()
    .map((r) => SendGridMail.parse(r.body))
    .filter((m) => m.custom_args?.campaignId === 'cross-sell' && m.custom_args.customerId === customerId);
}

/** The scheduler has taken in the owner's record (it looked, whatever it decided). */
async function schedulerApplied(consentId: string): Promise<void> {
  await eventually(async () => {
    const { rows } = await runtimes[1]!.pool.query('SELECT 1 FROM scheduler.processed_events WHERE event_id = $1', [consentId]);
    expect(rows).toHaveLength(1);
  }, 30_000);
}

function signedWebhook(body: string): Record<string, string> {
  const timestamp = String(Math.floor(messagingNow.getTime() / 1000));
  return {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString('base64'),
    'x-twilio-email-event-webhook-timestamp': timestamp,
  };
}

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  producer = await connectedProducer(infra);
  const env = { ...serviceEnv(infra), PORT: '0' };

  const messagingConfig = loadMessagingConfig({
    ...env,
    SENDGRID_API_KEY: 'SG.consent-test',
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_SENDS_PER_SECOND: '1000',
    UNSUBSCRIBE_SECRET,
    SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  });
  const messagingRuntime = await openRuntime({ service: 'messaging', config: messagingConfig, schema: 'messaging', migrationsFolder: join(repoRoot, 'services', 'messaging', 'drizzle') });
  runtimes.push(messagingRuntime);
  messaging = await startMessaging({ runtime: messagingRuntime, config: messagingConfig, now: () => messagingNow, retryBackoffMs: 50 });

  const schedulerConfig = loadSchedulerConfig(env);
  const schedulerRuntime = await openRuntime({ service: 'scheduler', config: schedulerConfig, schema: 'scheduler', migrationsFolder: join(repoRoot, 'services', 'scheduler', 'drizzle') });
  runtimes.push(schedulerRuntime);
  const shipped = await loadCampaigns(join(repoRoot, 'campaigns'));
  clock = simulatedClock(day(0, -1));
  // Only the cross-sell: a marketing campaign the shipped settings cap and keep to the send window.
  scheduler = await startScheduler({ runtime: schedulerRuntime, campaigns: shipped.campaigns.filter((c) => c.id === 'cross-sell'), settings: shipped.settings, clock, simulated: clock, pollMs: 60_000 });

  const classifierConfig = loadClassifierConfig(env);
  const classifierRuntime = await openRuntime({ service: 'classifier', config: classifierConfig, schema: 'classifier', migrationsFolder: join(repoRoot, 'services', 'classifier', 'drizzle') });
  runtimes.push(classifierRuntime);
  classifier = await startClassifier(classifierRuntime, await loadThresholds(classifierConfig.LIFECYCLE_CONFIG));
}, 180_000);

afterAll(async () => {
  await Promise.all([producer?.disconnect(), ...(messaging?.consumers.map((c) => c.stop()) ?? []), scheduler?.stop(), classifier?.stop()]);
  await messaging?.stop();
  await Promise.all(runtimes.map((r) => r.close()));
  await sendgrid?.close();
});

describe('consent has one owner, and every service follows it', () => {
  it('a one-click unsubscribe: the next cross-sell is skipped as unsubscribed, the profile says so, SendGrid gets nothing more', async () => {
    // cy's address was suppressed before consent was kept per customer: messaging turns the
    // request down, and the scheduler settles that job as suppressed, not sent.
    await runtimes[0]!.pool.query("INSERT INTO messaging.suppressions (email, reason, source, created_at) VALUES ('cy@example.com', 'unsubscribed', 'unsubscribe-link', $1)", [day(-30)]);
    await publishEvents(order('ann', 'o-a1', day(0)), order('bob', 'o-b1', day(0)), order('cy', 'o-c1', day(0)));
    await eventually(async () => expect((await crossSellStats()).pending).toBe(3), 30_000);

    await setClock(day(11));
    await eventually(() => expect(crossSellsTo('ann').length + crossSellsTo('bob').length).toBe(2), 30_000);
    await eventually(async () => expect(await crossSellStats()).toMatchObject({ sent: 2, suppressed: 1, pending: 0 }), 30_000);
    expect(crossSellsTo('cy')).toEqual([]);

    // Ann clicks the one-click unsubscribe of that email an hour later.
    const [mail] = crossSellsTo('ann');
    const link = /<(http[^>]+\/unsubscribe\?token=[^>]+)>/.exec(mail?.headers?.['List-Unsubscribe'] ?? '')?.[1];
    expect(link).toBeDefined();
    messagingNow = day(11, 1);
    const oneClick = await messaging.app.inject({
      method: 'POST',
      url: new URL(link ?? '').pathname + new URL(link ?? '').search,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.statusCode).toBe(200);

    await eventually(async () => expect(await profileConsent('ann')).toEqual({ state: 'unsubscribed', marketingAllowed: false, changedAt: day(11, 1).toISOString(), source: 'unsubscribe-link', sequence: 1 }), 30_000);
    await schedulerApplied('consent:ann:1');

    await publishEvents(order('ann', 'o-a2', day(12)));
    await eventually(async () => expect((await crossSellStats()).pending).toBe(1), 30_000);
    await setClock(day(23));
    const stats = await crossSellStats();
    expect(stats).toMatchObject({ sent: 2, suppressed: 1, pending: 0, skipped: { byReason: { unsubscribed: 1 } } });
    // What the stats call sent is what SendGrid accepted.
    expect(crossSellsTo('ann')).toHaveLength(1);
    expect(stats.sent).toBe(sendgrid.accepted().length);
  });

  it('a later Email Subscribed lifts the unsubscribe everywhere, and the next cross-sell goes out', async () => {
    await publishEvents(track('ann', 'Email Subscribed', { email: 'ann@example.com', list_id: 'news' }, day(24)));
    await eventually(async () => expect(await profileConsent('ann')).toEqual({ state: 'subscribed', marketingAllowed: true, changedAt: day(24).toISOString(), source: 'email-subscribed-event', sequence: 2 }), 30_000);
    await schedulerApplied('consent:ann:2');

    await publishEvents(order('ann', 'o-a3', day(25)));
    await eventually(async () => expect((await crossSellStats()).pending).toBe(1), 30_000);
    await setClock(day(36));
    await eventually(() => expect(crossSellsTo('ann')).toHaveLength(2), 30_000);
    expect(await crossSellStats()).toMatchObject({ sent: 3, suppressed: 1, skipped: { byReason: { unsubscribed: 1 } } });
    expect(sendgrid.accepted()).toHaveLength(3);
  });

  it('a hard bounce stays through a later Email Subscribed, until the operator lifts it', async () => {
    const [mail] = crossSellsTo('bob');
    const ids = mail?.custom_args ?? {};
    messagingNow = day(36, 1);
    const body = JSON.stringify([{ event: 'bounce', type: 'bounce', email: 'bob@example.com', timestamp: Math.floor(day(11, 2).getTime() / 1000), sg_event_id: 'ev-bounce-bob', reason: '550 5.1.1 no such user', ...ids }]);
    const answer = await messaging.app.inject({ method: 'POST', url: '/webhooks/sendgrid', headers: signedWebhook(body), payload: body });
    expect(answer.statusCode).toBe(200);
    await eventually(async () => expect(await profileConsent('bob')).toMatchObject({ state: 'bounced', marketingAllowed: false, changedAt: day(11, 2).toISOString(), sequence: 1 }), 30_000);
    await schedulerApplied('consent:bob:1');

    // Bob subscribes again after the bounce: messaging records his choice, the bounce stands.
    await publishEvents(track('bob', 'Email Subscribed', { email: 'bob@example.com' }, day(37)));
    await eventually(async () => {
      const { rows } = await runtimes[0]!.pool.query("SELECT preference, state, sequence FROM messaging.consent WHERE customer_id = 'bob'");
      expect(rows).toEqual([{ preference: 'subscribed', state: 'bounced', sequence: 1 }]);
    }, 30_000);
    expect(await profileConsent('bob')).toMatchObject({ state: 'bounced', sequence: 1 });

    await publishEvents(order('bob', 'o-b2', day(38)));
    await eventually(async () => expect((await crossSellStats()).pending).toBe(1), 30_000);
    await setClock(day(49));
    expect(await crossSellStats()).toMatchObject({ sent: 3, skipped: { byReason: { unsubscribed: 2 } } });
    expect(crossSellsTo('bob')).toHaveLength(1);

    // The operator's command (./lifecycle consent:lift bob@example.com) runs messaging's code.
    const lifted = await liftConsent({ env: serviceEnv(infra), target: 'bob@example.com', now: () => day(49, 1) });
    expect(lifted.customers).toEqual([{ customerId: 'bob', lifted: true, state: 'subscribed' }]);
    await eventually(async () => expect(await profileConsent('bob')).toEqual({ state: 'subscribed', marketingAllowed: true, changedAt: day(49, 1).toISOString(), source: 'operator', sequence: 2 }), 30_000);
    await schedulerApplied('consent:bob:2');

    await publishEvents(order('bob', 'o-b3', day(50)));
    await eventually(async () => expect((await crossSellStats()).pending).toBe(1), 30_000);
    await setClock(day(61));
    await eventually(() => expect(crossSellsTo('bob')).toHaveLength(2), 30_000);
    const stats = await crossSellStats();
    expect(stats).toMatchObject({ sent: 4, suppressed: 1, pending: 0, skipped: { byReason: { unsubscribed: 2 } } });
    expect(stats.sent).toBe(sendgrid.accepted().length);
  });
});
