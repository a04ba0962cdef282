import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '@lifecycle/contracts';
import { connectedProducer, createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { createServiceApp, startTopicConsumer, type FastifyInstance, type Producer, type RunningConsumer, type Runtime } from '../src/index.ts';
import { captureLogger, gate, openTestRuntime, produceTimers, recordHandled, timerFired } from './kit-harness.ts';

let infra: TestInfra;
let runtime: Runtime;
let producer: Producer;
let consumer: RunningConsumer | undefined;
let app: FastifyInstance | undefined;

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openTestRuntime(infra, { logger: captureLogger().logger });
  producer = await connectedProducer(infra);
});

afterAll(async () => {
  await consumer?.stop();
  await app?.close();
  await producer?.disconnect();
  await runtime?.close();
});

/** `lifecycle_kafka_consumer_lag` samples of a scrape, by partition, for one group. */
function lagOf(text: string, group: string, topic: string): Map<number, number> {
  const lag = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^lifecycle_kafka_consumer_lag\{group="([^"]+)",topic="([^"]+)",partition="(\d+)"\} (\d+)$/.exec(line);
    if (m?.[1] === group && m[2] === topic) lag.set(Number(m[3]), Number(m[4]));
  }
  return lag;
}

describe('GET /metrics of a service app', () => {
  it('shows a partition’s lag while its records are unconsumed, and 0 once the consumer caught up', async () => {
    const groupId = 'lag-watch';
    const held = gate();
    const seen: string[] = [];
    consumer = await startTopicConsumer({
      kafka: runtime.kafka,
      producer: runtime.producer,
      prefix: infra.prefix,
      groupId,
      topic: 'timersFired',
      logger: runtime.logger,
      pool: runtime.pool,
      handle: async (value, record) => {
        seen.push(value.id);
        // The consumer holds the first record until the test lets go: nothing is committed meanwhile.
        await held.opened;
        await recordHandled(runtime.pool, value, record);
      },
    });
    app = createServiceApp(runtime, { readiness: { consumers: () => consumer?.ready() ?? false }, metrics: { groups: [{ groupId, topic: 'timersFired' }], lagMaxAgeMs: 0 } });
    const scrape = async (): Promise<string> => {
      const answer = await app?.inject({ method: 'GET', url: '/metrics' });
      expect(answer?.statusCode).toBe(200);
      return answer?.body ?? '';
    };
    await eventually(() => expect(consumer?.ready()).toBe(true), 30_000);

    const placed = await produceTimers(producer, infra, ['lag-1', 'lag-2', 'lag-3'].map((id) => timerFired(id, 'cust-lag')));
    const partition = placed[0]?.partition ?? -1;
    expect(placed.every((p) => p.partition === partition)).toBe(true);
    await eventually(() => expect(seen).toEqual(['lag-1']), 30_000);

    const group = infra.prefix + groupId;
    const topic = topicName(infra.prefix, 'timersFired');
    const during = await scrape();
    const lag = lagOf(during, group, topic);
    // Every partition of the topic is reported; only the one holding the records is behind.
    expect(lag.get(partition)).toBe(3);
    expect([...lag.entries()].filter(([p]) => p !== partition).every(([, n]) => n === 0)).toBe(true);
    expect(during).toMatch(/^lifecycle_kafka_consumer_lag_age_seconds \d/m);
    // Process metrics come along (collectDefaultMetrics).
    expect(during).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(during).toMatch(/^nodejs_heap_size_used_bytes \d/m);

    held.open();
    await eventually(async () => {
      expect(seen).toEqual(['lag-1', 'lag-2', 'lag-3']);
      const after = lagOf(await scrape(), group, topic);
      expect(after.get(partition)).toBe(0);
      expect([...after.values()].every((n) => n === 0)).toBe(true);
    }, 30_000);
  });
});
