import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topicName, type TimerFired } from '@lifecycle/contracts';
import { collectTopic, connectedProducer, createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { inTransaction, RejectRecord, startTopicConsumer, type ConsumedRecord, type Producer, type RunningConsumer, type Runtime } from '../src/index.ts';
import { captureLogger, committedOffsets, openTestRuntime, parseDeadLetter, produceOne, produceTimers, insertHandled, storedIds, timerFired } from './kit-harness.ts';

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

interface Handled {
  id: string;
  key: string | null;
  partition: number;
  offset: string;
}

/**
 * Every test reads the one `timersFired` topic from its beginning in a group of its own; its
 * customers' ids start with its tag, and its handler passes over the other tests' records.
 */
async function consume(
  tag: string,
  opts: {
    groupId?: string;
    maxAttempts?: number;
    /** Runs in the handler's transaction once the effect is written; a throw here is the handler failing, which rolls the effect back. */
    during?: (value: TimerFired, record: ConsumedRecord) => Promise<void> | void;
  } = {},
): Promise<{ consumer: RunningConsumer; handled: Handled[]; attempts: string[] }> {
  const handled: Handled[] = [];
  const attempts: string[] = [];
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: infra.prefix,
    groupId: opts.groupId ?? tag,
    topic: 'timersFired',
    logger: runtime.logger,
    pool: runtime.pool,
    maxAttempts: opts.maxAttempts ?? 3,
    retryBackoffMs: 10,
    handle: async (value, record) => {
      if (!value.customerId.startsWith(tag)) return;
      attempts.push(value.id);
      await inTransaction(runtime.pool, async (tx) => {
        await insertHandled(tx, value, record);
        await opts.during?.(value, record);
      });
      handled.push({ id: value.id, key: record.key, partition: record.partition, offset: record.offset });
    },
  });
  running.push(consumer);
  return { consumer, handled, attempts };
}

function lettersFor(customerId: string) {
  return dead.records.filter((r) => r.key === customerId).map((r) => parseDeadLetter(r.value));
}

describe('startTopicConsumer', () => {
  it("hands each customer's records to the handler in the order they were produced", async () => {
    const tag = 'order-';
    const customers = [0, 1, 2, 3, 4, 5].map((i) => `${tag}c${i}`);
    const values = Array.from({ length: 60 }, (_, i) => timerFired(`${tag}${String(i).padStart(2, '0')}`, customers[i % customers.length] ?? ''));
    // One send: the broker appends each customer's records in this order.
    await producer.send({ topic: topicName(infra.prefix, 'timersFired'), messages: values.map((v) => ({ key: v.customerId, value: JSON.stringify(v) })) });

    const { handled } = await consume(tag);

    await eventually(() => expect(handled).toHaveLength(values.length));
    for (const customer of customers) {
      expect(handled.filter((h) => h.key === customer).map((h) => h.id)).toEqual(values.filter((v) => v.customerId === customer).map((v) => v.id));
    }
    // The customers were spread over partitions consumed side by side, not one queue.
    expect(new Set(handled.map((h) => h.partition)).size).toBeGreaterThan(1);
    expect(await storedIds(runtime.pool, tag)).toHaveLength(values.length);
  });

  it('commits an offset only after its transaction, so the next consumer in the group handles nothing twice', async () => {
    const tag = 'restart-';
    const first = Array.from({ length: 9 }, (_, i) => timerFired(`${tag}a${i}`, `${tag}c${i % 3}`));
    await produceTimers(producer, infra, first);
    // While a record is in hand, the group has not committed past it.
    const committedWhileHandling: { offset: string; committed: string }[] = [];
    const a = await consume(tag, {
      during: async (_value, record) => {
        const committed = (await committedOffsets(infra, tag)).get(record.partition) ?? '-1';
        committedWhileHandling.push({ offset: record.offset, committed });
      },
    });
    await eventually(() => expect(a.handled).toHaveLength(first.length));
    await a.consumer.stop();

    expect(committedWhileHandling).toHaveLength(first.length);
    for (const seen of committedWhileHandling) expect(BigInt(seen.committed)).toBeLessThanOrEqual(BigInt(seen.offset));
    // After the stop, each partition's committed offset is the one after its last handled record.
    const lastHandled = new Map<number, bigint>();
    for (const h of a.handled) lastHandled.set(h.partition, BigInt(h.offset));
    const committed = await committedOffsets(infra, tag);
    for (const [partition, offset] of lastHandled) expect(committed.get(partition)).toBe(String(offset + 1n));

    const later = Array.from({ length: 3 }, (_, i) => timerFired(`${tag}b${i}`, `${tag}c${i}`));
    await produceTimers(producer, infra, later);
    const b = await consume(tag);
    await eventually(() => expect(b.handled).toHaveLength(later.length));
    expect(b.attempts.toSorted()).toEqual(later.map((v) => v.id));
    expect(await storedIds(runtime.pool, tag)).toEqual([...first, ...later].map((v) => v.id).toSorted());
    expect(lettersFor(`${tag}c0`)).toEqual([]);
  });

  it('handles again a record whose transaction threw, and keeps none of the failed attempt', async () => {
    const tag = 'flaky-';
    const customer = `${tag}c`;
    const values = [timerFired(`${tag}1`, customer), timerFired(`${tag}2`, customer), timerFired(`${tag}3`, customer)];
    await produceTimers(producer, infra, values);
    let failed = false;
    const { handled, attempts } = await consume(tag, {
      during: (value) => {
        if (value.id !== `${tag}2` || failed) return;
        failed = true;
        // The effect is written, then the transaction fails: the write must not survive, or the retry would collide with it.
        throw new Error('lost the race with another writer');
      },
    });

    await eventually(() => expect(handled.map((h) => h.id)).toEqual(values.map((v) => v.id)));
    expect(attempts).toEqual([`${tag}1`, `${tag}2`, `${tag}2`, `${tag}3`]);
    expect(await storedIds(runtime.pool, tag)).toEqual(values.map((v) => v.id));
    expect(lettersFor(customer)).toEqual([]);
  });

  it('dead-letters a record that fails validation on the first attempt, with the reason, its source and its original bytes, and moves on', async () => {
    const tag = 'invalid-';
    const customer = `${tag}c`;
    const topic = topicName(infra.prefix, 'timersFired');
    const notJson = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22]);
    const wrongShape = JSON.stringify({ ...timerFired(`${tag}bad`, customer), version: 2 });
    const before = await produceOne(producer, infra, customer, JSON.stringify(timerFired(`${tag}1`, customer)));
    const garbled = await produceOne(producer, infra, customer, notJson);
    const mismatched = await produceOne(producer, infra, customer, wrongShape);
    const empty = await produceOne(producer, infra, customer, null);
    const after = await produceOne(producer, infra, customer, JSON.stringify(timerFired(`${tag}2`, customer)));

    const { handled, attempts } = await consume(tag);

    await eventually(() => expect(handled.map((h) => h.id)).toEqual([`${tag}1`, `${tag}2`]));
    expect(handled.map((h) => h.offset)).toEqual([before.offset, after.offset]);
    const letters = await eventually(() => {
      const found = lettersFor(customer);
      expect(found).toHaveLength(3);
      return found;
    });
    expect(attempts).toEqual([`${tag}1`, `${tag}2`]);
    const [first, second, third] = letters;
    expect(first).toMatchObject({ reason: 'value is not valid JSON', attempts: 0, key: customer, source: { topic, partition: garbled.partition, offset: garbled.offset } });
    expect(Buffer.from(first?.value ?? '', 'base64')).toEqual(notJson);
    expect(second).toMatchObject({ reason: 'value does not match the topic schema', attempts: 0, source: { topic, partition: mismatched.partition, offset: mismatched.offset } });
    expect(second?.errors.some((e) => e.startsWith('version:'))).toBe(true);
    expect(Buffer.from(second?.value ?? '', 'base64').toString('utf8')).toBe(wrongShape);
    expect(third).toMatchObject({ reason: 'empty record value', attempts: 0, value: null, source: { topic, partition: empty.partition, offset: empty.offset } });
  });

  it('dead-letters a record whose handler keeps failing after the configured attempts, and the partition moves on', async () => {
    const tag = 'poison-';
    const customer = `${tag}c`;
    const [ok1, poison, ok2] = await produceTimers(producer, infra, [timerFired(`${tag}1`, customer), timerFired(`${tag}2`, customer), timerFired(`${tag}3`, customer)]);
    const { handled, attempts } = await consume(tag, {
      maxAttempts: 4,
      during: (value) => {
        // The database answers all along: the record is at fault, not an outage.
        if (value.id === `${tag}2`) throw new Error('template references a missing field');
      },
    });

    await eventually(() => expect(handled.map((h) => h.id)).toEqual([`${tag}1`, `${tag}3`]));
    expect(attempts).toEqual([`${tag}1`, `${tag}2`, `${tag}2`, `${tag}2`, `${tag}2`, `${tag}3`]);
    const [letter] = await eventually(() => {
      const found = lettersFor(customer);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(letter).toMatchObject({
      reason: 'processing failed after 4 attempts',
      errors: ['template references a missing field'],
      attempts: 4,
      source: { topic: topicName(infra.prefix, 'timersFired'), partition: poison?.partition, offset: poison?.offset },
    });
    expect(parseDeadLetterValue(letter?.value)).toMatchObject({ id: `${tag}2` });
    expect(ok1?.partition).toBe(ok2?.partition);
    await eventually(async () => expect((await committedOffsets(infra, tag)).get(ok2?.partition ?? -1)).toBe(String(BigInt(ok2?.offset ?? '0') + 1n)));
  });

  it('dead-letters a record the handler rejects on its first attempt, with the handler’s reason', async () => {
    const tag = 'reject-';
    const customer = `${tag}c`;
    const [, rejected] = await produceTimers(producer, infra, [timerFired(`${tag}1`, customer), timerFired(`${tag}2`, customer), timerFired(`${tag}3`, customer)]);
    const { handled, attempts } = await consume(tag, {
      during: (value) => {
        if (value.id === `${tag}2`) throw new RejectRecord('timer owner is unknown', ['owner: kit-test']);
      },
    });

    await eventually(() => expect(handled.map((h) => h.id)).toEqual([`${tag}1`, `${tag}3`]));
    expect(attempts).toEqual([`${tag}1`, `${tag}2`, `${tag}3`]);
    const [letter] = await eventually(() => {
      const found = lettersFor(customer);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(letter).toMatchObject({ reason: 'timer owner is unknown', errors: ['owner: kit-test'], attempts: 1, source: { offset: rejected?.offset } });
  });
});

function parseDeadLetterValue(value: string | null | undefined): unknown {
  return JSON.parse(Buffer.from(value ?? '', 'base64').toString('utf8'));
}
