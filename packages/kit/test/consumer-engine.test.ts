import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topicName, type TimerFired } from '@lifecycle/contracts';
import { collectTopic, connectedProducer, createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { GROUP_SESSION_TIMEOUT_MS, readContract, startConsumer, type ConsumerOptions, type Producer, type RunningConsumer, type Runtime } from '../src/index.ts';
import { captureLogger, committedOffsets, gate, insertHandled, openTestRuntime, parseDeadLetter, storedIds, timerFired, type Produced } from './kit-harness.ts';

let infra: TestInfra;
let runtime: Runtime;
let producer: Producer;
let dead: Awaited<ReturnType<typeof collectTopic>>;
const running: RunningConsumer[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openTestRuntime(infra, { logger: captureLogger().logger });
  producer = await connectedProducer(infra);
  dead = await collectTopic(infra, 'timersFired', { deadLetter: true });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  await Promise.all([dead?.stop(), producer?.disconnect()]);
  await runtime?.close();
});

/** The options a test chooses; distributed over the two kinds of handler. */
type EngineSettings = ConsumerOptions<'timersFired'> extends infer O ? (O extends unknown ? Omit<O, 'kafka' | 'producer' | 'prefix' | 'topic' | 'logger' | 'read'> : never) : never;

/** The engine on the `timersFired` topic, in a group of the test's own. */
async function engine(settings: EngineSettings): Promise<RunningConsumer> {
  const consumer = await startConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: infra.prefix,
    topic: 'timersFired',
    logger: runtime.logger,
    read: readContract('timersFired'),
    retryBackoffMs: 10,
    ...settings,
  });
  running.push(consumer);
  return consumer;
}

/** Produces the records in one send to partition 0, so they are one partition's batch in this order. */
async function produceToOnePartition(values: TimerFired[]): Promise<Produced[]> {
  const [meta] = await producer.send({ topic: topicName(infra.prefix, 'timersFired'), messages: values.map((v) => ({ key: v.customerId, value: JSON.stringify(v), partition: 0 })) });
  if (meta?.baseOffset === undefined) throw new Error('the broker did not say where it put the records');
  const base = BigInt(meta.baseOffset);
  return values.map((_, i) => ({ partition: 0, offset: String(base + BigInt(i)) }));
}

const lettersFor = (customerId: string) => dead.records.filter((r) => r.key === customerId).map((r) => parseDeadLetter(r.value));

describe('the consumer engine', () => {
  it('keeps its group membership through a chunk that takes longer than the session, and handles the chunk once', { timeout: 90_000 }, async () => {
    const tag = 'long-';
    const values = [timerFired(`${tag}slow`, `${tag}c`), timerFired(`${tag}next`, `${tag}c`)];
    const placed = await produceToOnePartition(values);
    const attempts: string[] = [];
    await engine({
      groupId: tag,
      pool: runtime.pool,
      chunkSize: 1,
      handleChunk: async (tx, items) => {
        for (const { value, record } of items) {
          if (!value.customerId.startsWith(tag)) continue;
          attempts.push(value.id);
          await insertHandled(tx, value, record);
          // Holds its transaction open longer than the group session every service runs with.
          if (value.id === `${tag}slow`) await sleep(GROUP_SESSION_TIMEOUT_MS + 3_000);
        }
      },
    });

    // Both committed: had the broker dropped the member mid-chunk, the commit would be refused
    // and the slow record consumed again (and again, as each try outlasts the session).
    const last = placed.at(-1)?.offset ?? '-2';
    await eventually(async () => expect((await committedOffsets(infra, tag)).get(0)).toBe(String(BigInt(last) + 1n)), 45_000, 250);
    expect(attempts).toEqual([`${tag}slow`, `${tag}next`]);
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}next`, `${tag}slow`]);
  });

  it('handles several customers at once up to its concurrency, each customer’s records in order, and commits no further than the first record still in hand', async () => {
    const tag = 'lanes-';
    const customers = ['a', 'b', 'c', 'd'].map((c) => `${tag}${c}`);
    // Customer a's first record is held until the test lets it go; the others flow past it.
    const values = Array.from({ length: 16 }, (_, i) => timerFired(`${tag}${String(i).padStart(2, '0')}`, customers[i % customers.length] ?? ''));
    const heldId = `${tag}00`;
    const placed = await produceToOnePartition(values);
    const held = gate();
    const release = gate();
    const handled: string[] = [];
    let active = 0;
    let peak = 0;
    await engine({
      groupId: tag,
      pool: runtime.pool,
      chunkSize: 1,
      lanes: { concurrency: 2 },
      handleWithOwnCommits: async (items) => {
        for (const { value } of items) {
          if (!value.customerId.startsWith(tag)) continue;
          active += 1;
          peak = Math.max(peak, active);
          try {
            if (value.id === heldId) {
              held.open();
              await release.opened;
            } else {
              await sleep(20);
            }
            handled.push(value.id);
          } finally {
            active -= 1;
          }
        }
      },
    });

    await held.opened;
    const others = values.filter((v) => v.customerId !== customers[0]).map((v) => v.id);
    // One slot is taken by the held record: the other customers go through the second one.
    await eventually(() => expect(handled.toSorted()).toEqual(others));
    expect(handled.filter((id) => values.find((v) => v.id === id)?.customerId === customers[0])).toEqual([]);
    // Records after the held one are done, but its offset is where the group would start again.
    const committedWhileHeld = (await committedOffsets(infra, tag)).get(0) ?? '-1';
    expect(BigInt(committedWhileHeld)).toBeLessThanOrEqual(BigInt(placed[0]?.offset ?? '-1'));

    release.open();
    await eventually(() => expect(handled).toHaveLength(values.length));
    for (const customer of customers) {
      expect(handled.filter((id) => values.find((v) => v.id === id)?.customerId === customer)).toEqual(values.filter((v) => v.customerId === customer).map((v) => v.id));
    }
    expect(peak).toBe(2);
    const last = placed.at(-1)?.offset ?? '-2';
    await eventually(async () => expect((await committedOffsets(infra, tag)).get(0)).toBe(String(BigInt(last) + 1n)));
  });

  it('rolls back a chunk whose transaction failed and handles its records one at a time, so only the poison record is dead-lettered', async () => {
    const tag = 'chunk-';
    const customer = `${tag}c`;
    const values = Array.from({ length: 6 }, (_, i) => timerFired(`${tag}${i}`, customer));
    const poison = `${tag}3`;
    const refused = `${tag}5`;
    const placed = await produceToOnePartition(values);
    const chunks: string[][] = [];
    await engine({
      groupId: tag,
      pool: runtime.pool,
      // Larger than the partition holds: the test's records are in one chunk with the other tests'.
      chunkSize: 100,
      maxAttempts: 2,
      handleChunk: async (tx, items) => {
        const mine = items.filter((i) => i.value.customerId.startsWith(tag));
        if (mine.length > 0) chunks.push(mine.map((i) => i.value.id));
        // Written before the poison record fails: a chunk that kept them would fail the retries on the repeat.
        for (const { value, record } of mine) {
          if (value.id === poison) throw new Error('poison record');
          if (value.id !== refused) await insertHandled(tx, value, record);
        }
        return { refused: mine.filter((i) => i.value.id === refused).map((i) => ({ record: i.record, reason: 'timer owner is unknown', errors: ['owner: kit-test'] })) };
      },
    });

    const letters = await eventually(() => {
      const found = lettersFor(customer);
      expect(found).toHaveLength(2);
      return found;
    });
    expect(letters.map((l) => [l.source.offset, l.reason, l.attempts])).toEqual([
      [placed[3]?.offset, 'processing failed after 2 attempts', 2],
      [placed[5]?.offset, 'timer owner is unknown', 1],
    ]);
    expect(letters[0]?.errors).toEqual(['poison record']);
    // The whole chunk once, then each record alone, the poison one twice.
    const whole = values.map((v) => v.id);
    expect(chunks).toEqual([whole, ...whole.slice(0, 3).map((id) => [id]), [poison], [poison], ...whole.slice(4).map((id) => [id])]);
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}0`, `${tag}1`, `${tag}2`, `${tag}4`]);
    const last = placed.at(-1)?.offset ?? '-2';
    await eventually(async () => expect((await committedOffsets(infra, tag)).get(0)).toBe(String(BigInt(last) + 1n)));
  });
});
