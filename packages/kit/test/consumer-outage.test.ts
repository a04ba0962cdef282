import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TimerFired } from '@lifecycle/contracts';
import { startTcpProxy, type TcpProxy } from '@lifecycle/tools/tcp-proxy';
import { connectedProducer, createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { startTopicConsumer, type Producer, type RunningConsumer, type Runtime } from '../src/index.ts';
import { captureLogger, deadLetterCount, openTestRuntime, produceTimers, recordHandled, storedIds, timerFired, type LogLine } from './kit-harness.ts';

let infra: TestInfra;
let proxy: TcpProxy;
let runtime: Runtime;
let producer: Producer;
let logLines: LogLine[];
const running: RunningConsumer[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  const database = new URL(infra.databaseUrl);
  proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
  database.port = String(proxy.port);
  const captured = captureLogger();
  logLines = captured.lines;
  runtime = await openTestRuntime(infra, { logger: captured.logger, databaseUrl: database.toString() });
  producer = await connectedProducer(infra);
});

afterEach(async () => {
  // A test that failed during an outage leaves the proxy cut.
  await proxy.restore();
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  await producer?.disconnect();
  await runtime?.close();
  await proxy?.cut();
});

interface Handled {
  id: string;
  key: string | null;
}

/** A consumer whose handler writes its effect through the proxied pool; it passes over other tests' customers. */
async function consume(tag: string): Promise<{ consumer: RunningConsumer; handled: Handled[]; attempts: string[] }> {
  const handled: Handled[] = [];
  const attempts: string[] = [];
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: infra.prefix,
    groupId: tag,
    topic: 'timersFired',
    logger: runtime.logger,
    pool: runtime.pool,
    maxAttempts: 3,
    retryBackoffMs: 10,
    outagePauseMs: 300,
    handle: async (value, record) => {
      if (!value.customerId.startsWith(tag)) return;
      attempts.push(value.id);
      await recordHandled(runtime.pool, value, record);
      handled.push({ id: value.id, key: record.key });
    },
  });
  running.push(consumer);
  return { consumer, handled, attempts };
}

function countById(ids: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

const pauses = (): LogLine[] => logLines.filter((l) => l.pauseMs !== undefined);

describe('startTopicConsumer while its database is unreachable', () => {
  it('dead-letters nothing, stays in its group, pauses and comes back to the records, and handles each exactly once when the database is back', { timeout: 150_000 }, async () => {
    const tag = 'outage-';
    const { consumer, handled, attempts } = await consume(tag);
    await produceTimers(producer, infra, [timerFired(`${tag}warm`, `${tag}c0`)]);
    await eventually(() => expect(handled.map((h) => h.id)).toEqual([`${tag}warm`]));

    await proxy.cut();
    const pausesBefore = pauses().length;
    const values: TimerFired[] = Array.from({ length: 30 }, (_, i) => timerFired(`${tag}${String(i).padStart(2, '0')}`, `${tag}c${i % 6}`));
    await produceTimers(producer, infra, values);
    const inOutage = new Set(values.map((v) => v.id));
    const readiness: boolean[] = [];
    const sampling = setInterval(() => readiness.push(consumer.ready()), 50);
    try {
      // The consumer did look: it tried the outage's records, paused, and tried them again after
      // each pause. Seven rounds: kafkajs counts errors thrown out of eachBatch against its six
      // tries, then crashes the consumer out of its group.
      await eventually(() => {
        const tries = countById(attempts.filter((id) => inOutage.has(id)));
        expect(Math.max(0, ...tries.values())).toBeGreaterThanOrEqual(7);
      }, 90_000);
    } finally {
      clearInterval(sampling);
    }
    expect(pauses().length - pausesBefore).toBeGreaterThanOrEqual(7);
    expect(handled.filter((h) => inOutage.has(h.id))).toEqual([]);
    expect(await deadLetterCount(infra)).toBe(0);
    // It stayed in its group throughout: an outage is not a reason to look unready.
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.filter((r) => !r)).toEqual([]);

    await proxy.restore();
    await eventually(() => expect(handled.filter((h) => inOutage.has(h.id))).toHaveLength(values.length), 60_000);
    const counts = countById(handled.map((h) => h.id));
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}warm`, ...values.map((v) => v.id)].toSorted());
    for (const customer of new Set(values.map((v) => v.customerId))) {
      expect(handled.filter((h) => h.key === customer && inOutage.has(h.id)).map((h) => h.id)).toEqual(values.filter((v) => v.customerId === customer).map((v) => v.id));
    }
    expect(await deadLetterCount(infra)).toBe(0);
  });

  it('leaves a record whose transaction failed in the outage to the next consumer in the group, which handles it once the database is back', async () => {
    const tag = 'handover-';
    const customer = `${tag}c`;
    const a = await consume(tag);
    await produceTimers(producer, infra, [timerFired(`${tag}0`, customer)]);
    await eventually(() => expect(a.handled.map((h) => h.id)).toEqual([`${tag}0`]));

    await proxy.cut();
    await produceTimers(producer, infra, [timerFired(`${tag}1`, customer), timerFired(`${tag}2`, customer)]);
    await eventually(() => expect(a.attempts).toContain(`${tag}1`));
    // Stopping does not wait for the database: the paused partition has nothing in hand.
    await a.consumer.stop();
    expect(a.handled.map((h) => h.id)).toEqual([`${tag}0`]);

    await proxy.restore();
    const b = await consume(tag);
    await eventually(() => expect(b.handled.map((h) => h.id)).toEqual([`${tag}1`, `${tag}2`]));
    expect(b.attempts).toEqual([`${tag}1`, `${tag}2`]);
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}0`, `${tag}1`, `${tag}2`]);
    expect(await deadLetterCount(infra)).toBe(0);
  });
});
