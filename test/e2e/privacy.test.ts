import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { repoRoot } from '@lifecycle/tools/kafka-broker';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { runPrivacyRequest } from '../../tools/src/privacy-commands.ts';
import { loadConfig as loadClassifierConfig } from '../../services/classifier/src/config.ts';
import { startClassifier, type Classifier } from '../../services/classifier/src/service.ts';
import { loadThresholds } from '../../services/classifier/src/thresholds-file.ts';
import { loadConfig as loadIngestionConfig } from '../../services/ingestion/src/config.ts';
import { startIngestion, type Ingestion } from '../../services/ingestion/src/service.ts';
import { loadConfig as loadMessagingConfig } from '../../services/messaging/src/config.ts';
import { startMessaging, type Messaging } from '../../services/messaging/src/service.ts';
import { loadCampaigns } from '../../services/scheduler/src/campaign-files.ts';
import { loadConfig as loadSchedulerConfig } from '../../services/scheduler/src/config.ts';
import { simulatedClock } from '../../services/scheduler/src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../../services/scheduler/src/service.ts';

/**
 * A privacy request end to end: the four services run in this process on the real broker and
 * database. A customer identified with their email and name orders and is mailed a thank-you;
 * `privacy:export` gathers what every service holds into one file, `privacy:erase` gets the four
 * confirmations, after which no text or JSON column of the four schemas holds the email or the
 * name, and a later event for the same id starts a new, empty profile.
 */

const TOKEN = 'privacy-e2e-service-token-0123456789ab';
const tag = randomBytes(3).toString('hex');
const CUSTOMER = `cust-${tag}`;
const FIRST = 'Ottoline';
const LAST = `Privacyworth${tag}`;
const EMAIL = `${FIRST}.${LAST}@Example.com`;
/** The order an hour ago: well before the erase, which happens at the wall clock's now. */
const T0 = new Date(Date.now() - 3_600_000);
const later = (ms: number): Date => new Date(T0.getTime() + ms);

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let producer: Producer;
const runtimes: Runtime[] = [];
let ingestion: Ingestion;
let classifier: Classifier;
let scheduler: Scheduler;
let messaging: Messaging;
let messagingUrl: string;
let exportRequestId: string;

/** Publishes a Segment call on `commerce.events`, received when it happened. */
async function call(value: Record<string, unknown>, at: Date): Promise<void> {
  await producer.send({ topic: topicName(infra.prefix, 'commerceEvents'), messages: [{ key: CUSTOMER, value: JSON.stringify({ ...value, userId: CUSTOMER, timestamp: at.toISOString() }), timestamp: String(at.getTime()) }] });
}

/** Every text and JSON column of the four services' schemas whose value mentions `needle`. */
async function mentions(needle: string): Promise<string[]> {
  const pool = runtimes[0]!.pool;
  const { rows: columns } = await pool.query<{ table_schema: string; table_name: string; column_name: string }>(
    `SELECT table_schema, table_name, column_name FROM information_schema.columns
     WHERE table_schema IN ('ingestion', 'classifier', 'scheduler', 'messaging') AND data_type IN ('text', 'character varying', 'jsonb', 'json')`,
  );
  expect(new Set(columns.map((c) => c.table_schema)).size).toBe(4);
  const found: string[] = [];
  for (const c of columns) {
    const { rows } = await pool.query(`SELECT 1 FROM "${c.table_schema}"."${c.table_name}" WHERE "${c.column_name}"::text ILIKE $1 LIMIT 1`, [`%${needle}%`]);
    if (rows.length > 0) found.push(`${c.table_schema}.${c.table_name}.${c.column_name}`);
  }
  return found;
}

interface ClassifierCustomer {
  profile: { firstSeenAt: string; orderCount: number };
}

async function profile(): Promise<ClassifierCustomer | null> {
  const res = await classifier.app.inject({ url: `/customers/${CUSTOMER}` });
  return res.statusCode === 404 ? null : res.json<ClassifierCustomer>();
}

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  producer = await connectedProducer(infra);
  const env = { ...serviceEnv(infra), PORT: '0' };
  const open = async (service: string, config: Parameters<typeof openRuntime>[0]['config']): Promise<Runtime> => {
    const runtime = await openRuntime({ service, config, schema: service, migrationsFolder: join(repoRoot, 'services', service, 'drizzle') });
    runtimes.push(runtime);
    return runtime;
  };

  const messagingConfig = loadMessagingConfig({ ...env, SERVICE_TOKEN: TOKEN, SENDGRID_API_KEY: 'SG.privacy-e2e', SENDGRID_BASE_URL: sendgrid.url, SENDGRID_SENDS_PER_SECOND: '1000', UNSUBSCRIBE_SECRET: 'privacy-e2e-unsubscribe-secret-0123456789' });
  messaging = await startMessaging({ runtime: await open('messaging', messagingConfig), config: messagingConfig, retryBackoffMs: 50 });
  await messaging.app.listen({ port: 0, host: '127.0.0.1' });
  messagingUrl = `http://127.0.0.1:${(messaging.app.server.address() as AddressInfo).port}`;

  const ingestionConfig = loadIngestionConfig(env);
  ingestion = await startIngestion(await open('ingestion', ingestionConfig), ingestionConfig);

  const classifierConfig = loadClassifierConfig(env);
  classifier = await startClassifier(await open('classifier', classifierConfig), await loadThresholds(classifierConfig.LIFECYCLE_CONFIG));

  const schedulerConfig = loadSchedulerConfig(env);
  const shipped = await loadCampaigns(join(repoRoot, 'campaigns'));
  const clock = simulatedClock(later(-60_000));
  // Only the thank-you: transactional, right after the order.
  scheduler = await startScheduler({ runtime: await open('scheduler', schedulerConfig), campaigns: shipped.campaigns.filter((c) => c.id === 'post-purchase-thank-you'), settings: shipped.settings, clock, simulated: clock, pollMs: 60_000 });
}, 180_000);

afterAll(async () => {
  await Promise.all([producer?.disconnect(), ingestion?.stop(), classifier?.stop(), scheduler?.stop()]);
  await messaging?.stop();
  await Promise.all(runtimes.map((r) => r.close()));
  await sendgrid?.close();
});

describe('a privacy request across the four services', () => {
  it('a customer identified with email and name orders and is mailed', async () => {
    await call({ type: 'identify', messageId: `id-${tag}`, traits: { email: EMAIL, first_name: FIRST, last_name: LAST } }, T0);
    await call({ type: 'track', messageId: `order-${tag}`, event: 'Order Completed', context: { traits: { email: EMAIL, first_name: FIRST, last_name: LAST } }, properties: { order_id: `A-${tag}`, total: 32, currency: 'USD', products: [{ name: 'Ceramic Pour-Over', price: 32, quantity: 1 }] } }, later(1_000));
    await eventually(async () => expect((await profile())?.profile.orderCount).toBe(1), 30_000);

    const fire = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: later(5 * 60_000).toISOString() } });
    expect(fire.statusCode).toBe(200);
    const mail = await eventually(() => {
      const [accepted] = sendgrid.accepted();
      expect(accepted).toBeDefined();
      return SendGridMail.parse(accepted?.body);
    }, 30_000);
    expect(mail.personalizations[0]?.to[0]?.email).toBe(EMAIL.toLowerCase());
    // The profile and the contact hold the name and address by now (what the erase must find);
    // messaging's outbox may still hold a record naming the customer for a moment after the send
    // (a fresh-clone CI run found it there once, 2026-12-08), until its relay publishes it.
    await eventually(async () => expect(new Set((await mentions(LAST)).map((c) => c.split('.')[0]))).toEqual(new Set(['classifier', 'scheduler'])), 30_000);
  });

  it('privacy:export gathers the four services’ data into one JSON file', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'lifecycle-privacy-')), 'export.json');
    const lines: string[] = [];
    const code = await runPrivacyRequest({ kind: 'export', customerId: CUSTOMER, messagingUrl, headers: { authorization: `Bearer ${TOKEN}` }, timeoutMs: 60_000, out, say: (l) => lines.push(l) });
    expect(code, lines.join('\n')).toBe(0);
    for (const service of ['ingestion', 'classifier', 'scheduler', 'messaging']) expect(lines.some((l) => l.startsWith(`${service} confirmed`))).toBe(true);
    const file = JSON.parse(await readFile(out, 'utf8')) as { customerId: string; requestId: string; services: Record<string, Record<string, { customer_id?: string; email?: string }[]>> };
    exportRequestId = file.requestId;
    expect(file.customerId).toBe(CUSTOMER);
    expect(Object.keys(file.services).sort()).toEqual(['classifier', 'ingestion', 'messaging', 'scheduler']);
    expect(file.services.ingestion?.seen_messages?.length).toBe(2);
    expect(file.services.classifier?.profiles).toEqual([expect.objectContaining({ customer_id: CUSTOMER, email: EMAIL.toLowerCase() })]);
    expect(file.services.scheduler?.contacts).toEqual([expect.objectContaining({ customer_id: CUSTOMER })]);
    expect(file.services.messaging?.sends).toHaveLength(1);
  });

  it('privacy:erase gets all four confirmations, and no column of any schema holds the email or the name', async () => {
    const lines: string[] = [];
    const code = await runPrivacyRequest({ kind: 'erase', customerId: CUSTOMER, messagingUrl, headers: { authorization: `Bearer ${TOKEN}` }, timeoutMs: 60_000, say: (l) => lines.push(l) });
    expect(code, lines.join('\n')).toBe(0);
    expect(lines.filter((l) => /^[a-z]+ confirmed/.test(l)).map((l) => l.split(' ')[0]).sort()).toEqual(['classifier', 'ingestion', 'messaging', 'scheduler']);
    expect(lines.at(-1)).toBe('all 4 services confirmed');

    for (const needle of [EMAIL.split('@')[0]!, FIRST, LAST]) expect(await mentions(needle), needle).toEqual([]);
    expect(await profile()).toBeNull();
    // The export made before is emptied too.
    const earlier = await messaging.app.inject({ url: `/admin/privacy/requests/${exportRequestId}`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(earlier.json()).toMatchObject({ status: 'complete', export: {} });
  });

  it('a later event for the same id starts a new, empty profile in the classifier', async () => {
    const erasedAt = Date.now();
    const now = new Date(erasedAt + 1_000);
    await call({ type: 'track', messageId: `view-${tag}`, event: 'Product Viewed', properties: { product_id: 'p-1' } }, now);
    const fresh = await eventually(async () => {
      const view = await profile();
      expect(view).not.toBeNull();
      return view!;
    }, 30_000);
    expect(fresh.profile.orderCount).toBe(0);
    expect(Date.parse(fresh.profile.firstSeenAt)).toBeGreaterThan(T0.getTime() + 60_000);
    for (const needle of [FIRST, LAST]) expect(await mentions(needle), needle).toEqual([]);
  });

  it('timing out names the services that did not confirm', async () => {
    await classifier.stop();
    const lines: string[] = [];
    const code = await runPrivacyRequest({ kind: 'erase', customerId: CUSTOMER, messagingUrl, headers: { authorization: `Bearer ${TOKEN}` }, timeoutMs: 4_000, pollMs: 200, say: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(/^no confirmation within 4 s from classifier;/);
  });
});
