import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { ensureDatabase } from '@lifecycle/kit';
import { freePort } from '../service-process.ts';
import { readStackConfig, type ServiceName } from '../stack-config.ts';
import { testDemoStore } from '../test-kit.ts';
import { resetDemoStore, runDemoCommand } from './demo-stack.ts';
import { DEMO_WEBHOOK_PRIVATE_KEY_PEM } from './demo-webhook-key.ts';
import { signWebhookBody } from './mail-engagement.ts';
import { dayDate } from './store-simulation.ts';
import { serviceAuthHeaders, stackServiceToken } from '../stack-secrets.ts';

/**
 * `./lifecycle demo` with no stack running: it empties its own store, starts the four services on
 * a simulated clock, plays a tiny store and keeps the data for the read APIs until stopped. On
 * ports of its own, never the default 3001–3004.
 */

const brokers = inject('kafkaBrokers');
const store = testDemoStore('demo-own-stack');
const databaseUrl = store.databaseUrl;
const admin = new Kafka({ clientId: 'demo-own-stack-test', brokers, logLevel: logLevel.NOTHING }).admin();

afterAll(async () => {
  await admin.disconnect();
  rmSync(dirname(store.outboxDir), { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** What an earlier demo left: a table, a topic with a record, a consumer group, mail. */
async function leaveAnEarlierDemo(): Promise<void> {
  await ensureDatabase(databaseUrl);
  await query(databaseUrl, 'CREATE TABLE left_by_earlier_demo (id int)');
  await admin.connect();
  const leftover = `${store.topicPrefix}leftover`;
  await admin.createTopics({ topics: [{ topic: leftover, numPartitions: 1 }], waitForLeaders: true });
  const kafka = new Kafka({ clientId: 'demo-own-stack-test', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: leftover, messages: [{ value: 'old' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${store.topicPrefix}leftover-group` });
  await consumer.connect();
  await consumer.subscribe({ topic: leftover, fromBeginning: true });
  const read = new Promise<void>((resolve) => void consumer.run({ eachMessage: async () => resolve() }));
  await read;
  await consumer.disconnect();
  mkdirSync(store.outboxDir, { recursive: true });
  writeFileSync(join(store.outboxDir, 'old.eml'), 'old mail');
}

describe('./lifecycle demo with no stack running', () => {
  it('refuses to reset a store without a prefix or a database of its own', async () => {
    await expect(resetDemoStore({ ...store, topicPrefix: '' }, brokers)).rejects.toThrow(/needs a topic prefix/);
    const server = new URL(databaseUrl);
    server.pathname = '/postgres';
    await expect(resetDemoStore({ ...store, databaseUrl: server.toString() }, brokers)).rejects.toThrow(/drops its own database/);
  });

  it('waits for the consumer groups of a stack stopped a moment ago to empty, and names those that stay busy', async () => {
    await admin.connect();
    const topic = `${store.topicPrefix}busy`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const member = async (groupId: string) => {
      const consumer = new Kafka({ clientId: 'demo-own-stack-test', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let joined: () => void = () => {};
      const isIn = new Promise<void>((resolve) => (joined = resolve));
      consumer.on(consumer.events.GROUP_JOIN, () => joined());
      await consumer.run({ eachMessage: async () => {} });
      await isIn;
      return consumer;
    };
    // A member that stays: the reset gives up, saying which group and why.
    const staying = await member(`${store.topicPrefix}busy-group`);
    await expect(resetDemoStore(store, brokers, { groupsTimeoutMs: 1_500 })).rejects.toThrow(`consumer groups ${store.topicPrefix}busy-group still have members after 2 s: is another demo stack still running?`);
    // A member leaving while the reset waits: the reset goes on once it has.
    const leaving = setTimeout(() => void staying.disconnect(), 1_500);
    try {
      expect(await resetDemoStore(store, brokers, { groupsTimeoutMs: 30_000 })).toMatchObject({ groups: 1 });
    } finally {
      clearTimeout(leaving);
      await staying.disconnect();
    }
    expect((await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(store.topicPrefix))).toEqual([]);
  });

  it('empties its store, starts the stack on a simulated clock, plays, and keeps the data until stopped', async () => {
    await leaveAnEarlierDemo();
    const ports: Record<ServiceName, number> = { ingestion: await freePort(), classifier: await freePort(), scheduler: await freePort(), messaging: await freePort() };
    expect(Object.values(ports).some((p) => p >= 3001 && p <= 3004)).toBe(false);
    const env = { ...process.env, KAFKA_BROKERS: brokers.join(','), DATABASE_URL: databaseUrl };
    const stop = new AbortController();
    const said: string[] = [];
    let stages: unknown = null;
    let campaigns: unknown = null;
    let webhook: number | null = null;
    const start = dayDate(new Date().toISOString().slice(0, 10), 1);
    const code = await runDemoCommand({
      customers: 4,
      days: 1,
      seed: 7,
      start,
      stepHours: 24,
      writeKey: 'dev-write-key',
      env,
      config: readStackConfig(env),
      ports,
      consolePort: await freePort(),
      store,
      color: false,
      stopSignal: stop.signal,
      progress: () => {},
      say: (line) => {
        said.push(line);
        if (line.startsWith('Ctrl-C stops the stack')) {
          // The demo is over and the stack still runs: the data is there to read.
          void (async () => {
            // The read APIs take the stack's service token (docs/console.md §1).
            stages = await (await fetch(`http://127.0.0.1:${ports.classifier}/stages`, { headers: serviceAuthHeaders(stackServiceToken(env)) })).json();
            campaigns = await (await fetch(`http://127.0.0.1:${ports.scheduler}/campaigns`, { headers: serviceAuthHeaders(stackServiceToken(env)) })).json();
            // Messaging holds the demo key: a batch signed with it is accepted.
            const headers = signWebhookBody(createPrivateKey(DEMO_WEBHOOK_PRIVATE_KEY_PEM), '1', '[]');
            webhook = (await fetch(`http://127.0.0.1:${ports.messaging}/webhooks/sendgrid`, { method: 'POST', headers, body: '[]' })).status;
            stop.abort();
          })();
        }
      },
    });
    expect(code).toBe(0);
    expect(said[0]).toMatch(/^no stack answers on ports .*: starting one with a simulated clock/);
    expect(said).toContainEqual(expect.stringMatching(new RegExp(`^emptied the demo store: .* dropped, 1 topics and 1 consumer groups under ${store.topicPrefix.replaceAll('.', '\\.')} deleted$`)));
    expect(said).toContainEqual(expect.stringMatching(/^CLOCK=simulated: messaging verifies SendGrid webhooks with the demo key/));
    expect(said).toContainEqual(expect.stringContaining(`prefix ${store.topicPrefix}`));
    // Its stack ran the demo's copy of the campaigns, measurement on, and said so.
    expect(said).toContainEqual(expect.stringMatching(/^the demo's stack runs a copy of the campaigns in .*: a 5% control group, a 10% holdout on win-back-at-risk, cross-sell, cart-abandonment, sunset after P120D/));
    expect(readFileSync(join(store.campaignsDir ?? `${store.outboxDir}-campaigns`, '_settings.yaml'), 'utf8')).toMatch(/^globalControl: \{ percent: 5 \}$/m);
    expect(stages).toMatchObject({ stages: expect.any(Object) });
    expect(campaigns).toMatchObject({ campaigns: expect.any(Array) });
    expect(webhook).toBe(200);
    expect(said.join('\n')).not.toContain('are not reported');

    // The earlier demo's leftovers are gone; the services' own schemas are what the database holds.
    expect(await query(databaseUrl, "SELECT 1 FROM information_schema.tables WHERE table_name = 'left_by_earlier_demo'")).toEqual([]);
    expect(await admin.listTopics()).not.toContain(`${store.topicPrefix}leftover`);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(`${store.topicPrefix}leftover-group`);
    expect(existsSync(join(store.outboxDir, 'old.eml'))).toBe(false);
  }, 240_000);
});
