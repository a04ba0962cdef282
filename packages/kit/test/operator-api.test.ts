import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { deadLetterTopicName, topicName } from '@lifecycle/contracts';
import { createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { createDeadLetterStore, createServiceApp, sendToDeadLetter, type FastifyInstance, type Runtime } from '../src/index.ts';
import { captureLogger, openTestRuntime } from './kit-harness.ts';

const TOKEN = 'operator-api-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

let infra: TestInfra;
let runtime: Runtime;
let app: FastifyInstance;
let source: string;
let dlq: string;
let reader: Consumer | undefined;
/** What a consumer of the source topic receives: the republished records. */
const received: { key: string | null; value: Buffer | null; partition: number }[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  runtime = await openTestRuntime(infra, { logger: captureLogger().logger });
  source = topicName(infra.prefix, 'timersFired');
  dlq = deadLetterTopicName(infra.prefix, 'timersFired');
  app = createServiceApp({ ...runtime, serviceToken: TOKEN }, { readiness: {}, metrics: { groups: [{ groupId: 'operator-watch', topic: 'timersFired' }], lagMaxAgeMs: 0 } });
  reader = infra.kafka.consumer({ groupId: `${infra.prefix}republish-reader-${randomBytes(3).toString('hex')}` });
  await reader.connect();
  await reader.subscribe({ topic: source, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ partition, message }) => {
      received.push({ key: message.key?.toString('utf8') ?? null, value: message.value, partition });
    },
  });
});

afterAll(async () => {
  await reader?.disconnect();
  await app?.close();
  await runtime?.close();
});

const notJson = 'value is not valid JSON';
const badSchema = 'value does not match the topic schema';
/** Bytes that are not UTF-8: what the API must hand back untouched. */
const binary = Buffer.from([0xff, 0x00, 0x7b, 0xfe]);

describe("a service's dead-letter API", () => {
  it('answers 401 without the service token', async () => {
    for (const request of [
      { method: 'GET', url: '/dead-letters' },
      { method: 'GET', url: `/dead-letters/records?topic=${dlq}` },
      { method: 'POST', url: '/dead-letters/republish', payload: { topic: dlq, reason: notJson } },
      { method: 'GET', url: '/admin/consumer-lag' },
    ] as const) {
      const answer = await app.inject(request);
      expect(answer.statusCode, request.url).toBe(401);
    }
  });

  it('lists the dead-letter topic of each topic the service consumes, empty before anything failed', async () => {
    const answer = await app.inject({ method: 'GET', url: '/dead-letters', headers: auth });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ topics: [{ topic: dlq, sourceTopic: source, total: 0, truncated: false, byReason: [] }] });
  });

  it('counts dead letters by reason and shows each with its error, source position, key and original bytes', async () => {
    const letter = (key: string, offset: string, value: Buffer, reason: string, errors: string[], attempts: number) =>
      sendToDeadLetter(runtime.producer, infra.prefix, 'timersFired', { record: { topic: source, partition: 2, offset, key }, value, reason, errors, attempts });
    await letter('cust-a', '17', Buffer.from('{"id": "t-1", '), notJson, ['Unexpected end of JSON input'], 1);
    await letter('cust-b', '18', binary, badSchema, ['payload.timerId: Invalid input: expected string, received undefined'], 3);
    await letter('cust-c', '19', Buffer.from('also { not json'), notJson, ['Unexpected token'], 1);

    const summary = await app.inject({ method: 'GET', url: '/dead-letters', headers: auth });
    expect(summary.json()).toEqual({
      topics: [
        {
          topic: dlq,
          sourceTopic: source,
          total: 3,
          truncated: false,
          byReason: [
            { reason: notJson, count: 2 },
            { reason: badSchema, count: 1 },
          ],
        },
      ],
    });

    const bySchema = await app.inject({ method: 'GET', url: `/dead-letters/records?topic=${encodeURIComponent(dlq)}&reason=${encodeURIComponent(badSchema)}`, headers: auth });
    expect(bySchema.statusCode).toBe(200);
    const [record] = bySchema.json().records;
    expect(bySchema.json().records).toHaveLength(1);
    expect(record).toMatchObject({
      topic: dlq,
      partition: 0,
      offset: '1',
      sourceTopic: source,
      sourcePartition: 2,
      sourceOffset: '18',
      reason: badSchema,
      errors: ['payload.timerId: Invalid input: expected string, received undefined'],
      attempts: 3,
      key: 'cust-b',
      valueUtf8: null,
      valueBase64: binary.toString('base64'),
    });
    expect(Date.now() - Date.parse(record.deadLetteredAt)).toBeLessThan(60_000);

    const newest = await app.inject({ method: 'GET', url: `/dead-letters/records?topic=${encodeURIComponent(dlq)}&limit=2`, headers: auth });
    expect(newest.json().records.map((r: { key: string; valueUtf8: string | null }) => [r.key, r.valueUtf8])).toEqual([
      ['cust-c', 'also { not json'],
      ['cust-b', null],
    ]);
  });

  it('reads only the newest records of a topic longer than its cap, and says the scan was truncated', async () => {
    const store = createDeadLetterStore({ kafka: runtime.kafka, producer: runtime.producer, prefix: infra.prefix, topics: ['timersFired'], logger: runtime.logger, service: 'kit-test', maxRecordsPerTopic: 2 });
    const [scan] = await store.scan();
    expect(scan).toMatchObject({ topic: dlq, total: 3, truncated: true });
    expect(scan?.records.map((r) => [r.offset, r.key])).toEqual([
      ['1', 'cust-b'],
      ['2', 'cust-c'],
    ]);
    const admin = infra.kafka.admin();
    await admin.connect();
    try {
      // The reader's throwaway groups are gone once it has read.
      const { groups } = await admin.listGroups();
      expect(groups.filter((g) => g.groupId.startsWith(infra.prefix) && g.groupId.includes('dead-letter-reader'))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('names the field when a query or body is wrong', async () => {
    const unknownTopic = await app.inject({ method: 'GET', url: `/dead-letters/records?topic=${encodeURIComponent(source)}`, headers: auth });
    expect(unknownTopic.statusCode).toBe(400);
    expect(unknownTopic.json().issues[0].field).toBe('topic');
    const badLimit = await app.inject({ method: 'GET', url: `/dead-letters/records?topic=${encodeURIComponent(dlq)}&limit=0`, headers: auth });
    expect(badLimit.statusCode).toBe(400);
    const neither = await app.inject({ method: 'POST', url: '/dead-letters/republish', headers: auth, payload: { topic: dlq } });
    expect(neither.statusCode).toBe(400);
    const nowhere = await app.inject({ method: 'POST', url: '/dead-letters/republish', headers: auth, payload: { topic: dlq, partition: 0, offset: '99' } });
    expect(nowhere.statusCode).toBe(404);
  });

  it('republishes one dead letter, then all with a reason: the source topic receives the original bytes with the original keys', async () => {
    const one = await app.inject({ method: 'POST', url: '/dead-letters/republish', headers: auth, payload: { topic: dlq, partition: 0, offset: '1' } });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ republished: [{ partition: 0, offset: '1', sourceTopic: source }], skipped: [] });
    await eventually(() => expect(received).toHaveLength(1));
    expect(received[0]?.key).toBe('cust-b');
    expect(received[0]?.value?.equals(binary)).toBe(true);

    const byReason = await app.inject({ method: 'POST', url: '/dead-letters/republish', headers: auth, payload: { topic: dlq, reason: notJson } });
    expect(byReason.json().republished).toEqual([
      { partition: 0, offset: '0', sourceTopic: source },
      { partition: 0, offset: '2', sourceTopic: source },
    ]);
    await eventually(() => expect(received).toHaveLength(3));
    const byKey = new Map(received.map((r) => [r.key, r.value?.toString('utf8')]));
    expect(byKey).toEqual(
      new Map([
        ['cust-b', binary.toString('utf8')],
        ['cust-a', '{"id": "t-1", '],
        ['cust-c', 'also { not json'],
      ]),
    );
  });
});

describe('GET /admin/consumer-lag', () => {
  it("shows each partition's committed offset, high watermark and lag for the service's groups", async () => {
    const groupId = `${infra.prefix}operator-watch`;
    const admin = infra.kafka.admin();
    await admin.connect();
    try {
      // The republished records are on the source topic; the group has read one of them on one partition.
      const offsets = await admin.fetchTopicOffsets(source);
      const filled = offsets.find((o) => Number(o.high) > 0);
      if (filled === undefined) throw new Error('the republished records are not on the source topic');
      await admin.setOffsets({ groupId, topic: source, partitions: [{ partition: filled.partition, offset: '1' }] });

      const answer = await app.inject({ method: 'GET', url: '/admin/consumer-lag', headers: auth });
      expect(answer.statusCode).toBe(200);
      const expected = offsets
        .map((o) => {
          const high = Number(o.high);
          const committed = o.partition === filled.partition ? 1 : null;
          return { groupId, topic: source, partition: o.partition, lag: high - (committed ?? Number(o.low)), committed, high };
        })
        .sort((a, b) => a.partition - b.partition);
      expect(answer.json().groups.sort((a: { partition: number }, b: { partition: number }) => a.partition - b.partition)).toEqual(expected);
      expect(expected.reduce((n, g) => n + g.lag, 0)).toBe(2);
    } finally {
      await admin.disconnect();
    }
  });
});
