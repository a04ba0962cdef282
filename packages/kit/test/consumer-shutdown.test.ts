import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TimerFired } from '@lifecycle/contracts';
import { connectedProducer, createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { inTransaction, startTopicConsumer, type ConsumedRecord, type Producer, type RunningConsumer, type Runtime } from '../src/index.ts';
import { captureLogger, committedOffsets, gate, insertHandled, LogLine, openTestRuntime, produceTimers, recordHandledOnce, storedIds, timerFired } from './kit-harness.ts';

let infra: TestInfra;
let runtime: Runtime;
let producer: Producer;
const running: RunningConsumer[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openTestRuntime(infra, { logger: captureLogger().logger });
  producer = await connectedProducer(infra);
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  await producer?.disconnect();
  await runtime?.close();
});

/**
 * A consumer in `groupId` that handles one record at a time, idempotently as every service must,
 * and passes over other tests' customers. `attempts`: every record it was given; `handled`: those
 * whose effect it wrote.
 */
async function consumeOneByOne(tag: string, groupId: string): Promise<{ handled: string[]; attempts: string[] }> {
  const handled: string[] = [];
  const attempts: string[] = [];
  running.push(
    await startTopicConsumer({
      kafka: runtime.kafka,
      producer: runtime.producer,
      prefix: infra.prefix,
      groupId,
      topic: 'timersFired',
      logger: runtime.logger,
      pool: runtime.pool,
      handle: async (value, record) => {
        if (!value.customerId.startsWith(tag)) return;
        attempts.push(value.id);
        if (await recordHandledOnce(runtime.pool, value, record)) handled.push(value.id);
      },
    }),
  );
  return { handled, attempts };
}

const series = (tag: string, count: number, held: Record<number, string> = {}): TimerFired[] =>
  Array.from({ length: count }, (_, i) => timerFired(`${tag}${String(i).padStart(2, '0')}`, `${tag}c`, held[i] === undefined ? {} : { hold: held[i] }));

/** The kit-only service of fixtures/consumer-service.ts as a process of its own, with its log lines. */
function startFixture(tag: string): { lines: LogLine[]; output: () => string; exited: Promise<number | null>; terminate: () => number } {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'consumer-service.ts')], {
    env: {
      ...process.env,
      KAFKA_BROKERS: infra.brokers.join(','),
      DATABASE_URL: infra.databaseUrl,
      TOPIC_PREFIX: infra.prefix,
      LOG_LEVEL: 'info',
      KIT_FIXTURE_GROUP: tag,
      KIT_FIXTURE_TAG: tag,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: LogLine[] = [];
  let output = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const line of complete) if (line.trim() !== '') lines.push(LogLine.parse(JSON.parse(line)));
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines,
    output: () => output,
    exited,
    terminate: () => {
      child.kill('SIGTERM');
      return Date.now();
    },
  };
}

const holding = (lines: LogLine[], id: string): boolean => lines.some((l) => l.msg === 'holding a record in hand' && l.timerId === id);

describe('stopping a topic consumer', () => {
  it('finishes the chunk in hand, commits it, and the next consumer in the group starts right after it', async () => {
    const tag = 'chunk-';
    const values = series(tag, 12);
    const placed = await produceTimers(producer, infra, values);
    const offsetOf = new Map(values.map((v, i) => [v.id, placed[i]]));
    const inHand = gate();
    const release = gate();
    const chunks: string[][] = [];
    const handled: string[] = [];
    const write = async (items: { value: TimerFired; record: ConsumedRecord }[]): Promise<void> => {
      await inTransaction(runtime.pool, async (tx) => {
        for (const { value, record } of items) await insertHandled(tx, value, record);
      });
      handled.push(...items.map((i) => i.value.id));
    };
    const a = await startTopicConsumer({
      kafka: runtime.kafka,
      producer: runtime.producer,
      prefix: infra.prefix,
      groupId: tag,
      topic: 'timersFired',
      logger: runtime.logger,
      pool: runtime.pool,
      batchSize: 4,
      handle: async (value, record) => write([{ value, record }]),
      handleBatch: async (items) => {
        const mine = items.filter((i) => i.value.customerId.startsWith(tag));
        chunks.push(mine.map((i) => i.value.id));
        if (mine.some((i) => i.value.id === `${tag}05`)) {
          inHand.open();
          await release.opened;
        }
        await write(mine);
      },
    });
    running.push(a);

    await inHand.opened;
    // kafkajs marks the consumer stopping as soon as stop() is called, so the chunk in hand ends
    // the batch; the chunk itself is finished and committed.
    const stopped = a.stop();
    release.open();
    await stopped;

    const held = chunks.find((c) => c.includes(`${tag}05`)) ?? [];
    const lastInHand = held.at(-1) ?? '';
    const upToHeld = values.slice(0, values.findIndex((v) => v.id === lastInHand) + 1).map((v) => v.id);
    expect(handled).toEqual(upToHeld);
    expect(upToHeld.length).toBeLessThan(values.length);
    const partition = placed[0]?.partition ?? -1;
    expect((await committedOffsets(infra, tag)).get(partition)).toBe(String(BigInt(offsetOf.get(lastInHand)?.offset ?? '-2') + 1n));

    const b = await consumeOneByOne(tag, tag);
    const rest = values.slice(upToHeld.length).map((v) => v.id);
    await eventually(() => expect(b.handled).toEqual(rest));
    expect(b.attempts).toEqual(rest);
    expect(await storedIds(runtime.pool, tag)).toEqual(values.map((v) => v.id));
  });

  it('on SIGTERM a service finishes the record in hand, commits it and exits 0 within its deadline; the next consumer starts after it', async () => {
    const tag = 'sigterm-';
    const values = series(tag, 5, { 2: 'until-terminated' });
    await produceTimers(producer, infra, values);
    const service = startFixture(tag);
    await eventually(() => expect(holding(service.lines, `${tag}02`)).toBe(true), 60_000);
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}00`, `${tag}01`]);

    const signalled = service.terminate();
    const code = await service.exited;
    const took = Date.now() - signalled;

    expect(code, service.output()).toBe(0);
    // installShutdown's deadline is 10 s; leaving the group is most of what it takes.
    expect(took).toBeLessThan(10_000);
    expect(service.lines.map((l) => l.msg)).toContain('stopped');
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}00`, `${tag}01`, `${tag}02`]);

    const next = await consumeOneByOne(tag, tag);
    await eventually(() => expect(next.handled).toEqual([`${tag}03`, `${tag}04`]));
    expect(next.attempts).toEqual([`${tag}03`, `${tag}04`]);
  });

  it('on SIGTERM a service whose record in hand never finishes exits 1 at its deadline, and the record is handled again by the next consumer', { timeout: 120_000 }, async () => {
    const tag = 'stuck-';
    const values = series(tag, 3, { 1: 'forever' });
    await produceTimers(producer, infra, values);
    const service = startFixture(tag);
    await eventually(() => expect(holding(service.lines, `${tag}01`)).toBe(true), 60_000);

    const signalled = service.terminate();
    const code = await service.exited;
    const took = Date.now() - signalled;

    expect(code, service.output()).toBe(1);
    expect(service.lines.map((l) => l.msg)).toContain('shutdown deadline passed, exiting');
    expect(took).toBeGreaterThanOrEqual(9_500);
    expect(took).toBeLessThan(13_000);
    expect(await storedIds(runtime.pool, tag)).toEqual([`${tag}00`]);

    // The process left without leaving its group: the next consumer gets the partition once the
    // broker gives up on it (the 10 s session).
    const next = await consumeOneByOne(tag, tag);
    await eventually(() => expect(next.handled).toEqual([`${tag}01`, `${tag}02`]), 60_000);
    expect(next.attempts).toContain(`${tag}01`);
    // The kit commits offsets when a batch ends, so a process that dies in the middle of one
    // leaves the records before it in hand to come again; the handler drops them as repeats.
    expect(next.attempts.filter((id) => id !== `${tag}00`)).toEqual([`${tag}01`, `${tag}02`]);
    expect(await storedIds(runtime.pool, tag)).toEqual(values.map((v) => v.id));
  });
});
