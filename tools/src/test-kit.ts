import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { createProducer, ensureDatabase, ensureTopics, type Producer } from '@lifecycle/kit';
import { deadLetterTopicName, topicName, type LifecycleEvent, type TopicKey } from '@lifecycle/contracts';
import type { DemoStore } from './demo/demo-stack.ts';

/** Helpers for integration tests against the real broker and database of `test-infra.ts`. */

export interface TestInfra {
  brokers: string[];
  /** A database of this test file's own, created on first use. */
  databaseUrl: string;
  /** Topic and consumer-group prefix of this test file's own; its topics exist already. */
  prefix: string;
  kafka: Kafka;
}

function uniqueName(): string {
  return `${inject('runId')}_${randomBytes(3).toString('hex')}`;
}

function databaseUrlFor(name: string): string {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/lifecycle_${name}`;
  return url.toString();
}

/** The URL of a database nobody has created yet (the run drops it at the end if something does). */
export function unusedDatabaseUrl(): string {
  return databaseUrlFor(uniqueName());
}

/**
 * A demo store of a test file's own: a new database, topics under a prefix named after it (the
 * run's teardown deletes topics named after its databases) and mail in a temporary folder.
 */
export function testDemoStore(label: string): DemoStore {
  const databaseUrl = unusedDatabaseUrl();
  return {
    databaseUrl,
    topicPrefix: `${new URL(databaseUrl).pathname.replace(/^\/lifecycle_/, '')}.`,
    outboxDir: join(mkdtempSync(join(tmpdir(), `${label}-`)), 'outbox'),
  };
}

/** A fresh database and a fresh set of declared topics for one test file. */
export async function createTestInfra(): Promise<TestInfra> {
  const name = uniqueName();
  const databaseUrl = databaseUrlFor(name);
  await ensureDatabase(databaseUrl);
  const brokers = inject('kafkaBrokers');
  const kafka = new Kafka({ clientId: `test-${name}`, brokers, logLevel: logLevel.NOTHING });
  const prefix = `${name}.`;
  await ensureTopics(kafka, prefix);
  return { brokers, databaseUrl, prefix, kafka };
}

/** Environment variables that point a service at the test infrastructure. */
export function serviceEnv(infra: TestInfra): Record<string, string> {
  return { KAFKA_BROKERS: infra.brokers.join(','), DATABASE_URL: infra.databaseUrl, TOPIC_PREFIX: infra.prefix, LOG_LEVEL: 'warn' };
}

export async function connectedProducer(infra: TestInfra): Promise<Producer> {
  const producer = createProducer(infra.kafka);
  await producer.connect();
  return producer;
}

export interface ReceivedRecord {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  /** The record's Kafka timestamp, ms since the epoch. */
  timestamp: number;
}

/** Reads a topic from the beginning into an array that fills up as records arrive. */
export async function collectTopic(
  infra: TestInfra,
  key: TopicKey,
  opts: { deadLetter?: boolean } = {},
): Promise<{ records: ReceivedRecord[]; stop: () => Promise<void> }> {
  const topic = opts.deadLetter === true ? deadLetterTopicName(infra.prefix, key) : topicName(infra.prefix, key);
  const consumer = infra.kafka.consumer({ groupId: `${infra.prefix}collector-${randomBytes(3).toString('hex')}` });
  const records: ReceivedRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      records.push({ key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? '', headers, timestamp: Number(message.timestamp) });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** Polls until the check passes or the timeout ends; the last failure is rethrown. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/**
 * A `lifecycle.events` record of a Segment track call by a known customer, as ingestion publishes
 * it: `id` is also the call's messageId; the traits carry `<customerId>@example.com` and a first name.
 */
export function trackedEvent(o: { id: string; customerId: string; event: string; properties: Record<string, unknown>; at: Date; firstName?: string }): LifecycleEvent {
  return {
    id: o.id,
    type: 'commerce.event',
    version: 1,
    occurredAt: o.at.toISOString(),
    customerId: o.customerId,
    causationId: o.id,
    payload: {
      call: {
        type: 'track',
        messageId: o.id,
        timestamp: o.at.toISOString(),
        userId: o.customerId,
        event: o.event,
        properties: o.properties,
        context: { traits: { email: `${o.customerId}@example.com`, first_name: o.firstName ?? o.customerId } },
      },
    },
  };
}
