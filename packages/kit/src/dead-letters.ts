import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DeadLetter, deadLetterTopicName, topicName, topics as catalog, type TopicKey } from '@lifecycle/contracts';
import { describeError } from './error-serializer.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyInstance } from './http.ts';
import { isKafkaError } from './kafka.ts';
import { topicOffsets } from './topics.ts';

/** A record of a dead-letter topic as an operator sees it. */
export interface DeadLetterRecord {
  /** The dead-letter topic (prefix included) and where the record is on it. */
  topic: string;
  partition: number;
  offset: string;
  /** The topic a republish goes to: the one the dead-letter topic belongs to. */
  sourceTopic: string;
  /** Where the original record was; null for a record that is not a dead letter the kit wrote. */
  sourcePartition: number | null;
  sourceOffset: string | null;
  reason: string;
  errors: string[];
  attempts: number;
  /** ISO 8601 UTC. */
  deadLetteredAt: string;
  key: string | null;
  /** The original bytes as text when they are valid UTF-8. */
  valueUtf8: string | null;
  /** The original bytes; null when the original record had none (or the record is unreadable). */
  valueBase64: string | null;
}

/** One dead-letter topic as scanned: its records, newest last. */
export interface DeadLetterScan {
  topic: string;
  sourceTopic: string;
  /** Records on the topic (all partitions, from log start to high watermark). */
  total: number;
  /** True when the topic held more than the scan reads: `records` are the newest. */
  truncated: boolean;
  records: DeadLetterRecord[];
}

export interface DeadLetterStoreOptions {
  kafka: Kafka;
  producer: Producer;
  prefix: string;
  /** The source topics whose `.dlq` companions the store reads (those the service consumes). */
  topics: readonly TopicKey[];
  logger: Logger;
  /** Names the reader's throwaway consumer groups. */
  service: string;
  /** Records read per dead-letter topic at most, the newest (default 10,000). */
  maxRecordsPerTopic?: number;
  /** How long a scan may take before it fails (default 15 s). */
  readTimeoutMs?: number;
}

export interface DeadLetterStore {
  /** The dead-letter topics (prefix included) with their source topics. */
  readonly topics: readonly { topic: string; sourceTopic: string }[];
  /** Reads the given dead-letter topics (default: all) from their brokers now. */
  scan(topics?: readonly string[]): Promise<DeadLetterScan[]>;
  /** Produces the originals of the chosen records of one dead-letter topic again, with their keys, to its source topic. */
  republish(topic: string, choose: (record: DeadLetterRecord) => boolean): Promise<RepublishResult>;
}

export interface RepublishResult {
  republished: { partition: number; offset: string; sourceTopic: string }[];
  /** Chosen records that have no original bytes to produce. */
  skipped: { partition: number; offset: string; why: string }[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8OrNull(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** A record of a dead-letter topic, read whether or not the kit wrote it. */
export function readDeadLetterRecord(topic: string, sourceTopic: string, partition: number, message: Pick<KafkaMessage, 'offset' | 'key' | 'value' | 'timestamp'>): DeadLetterRecord {
  const key = message.key === null ? null : message.key.toString('utf8');
  const at = Number(message.timestamp);
  const timestamp = Number.isFinite(at) && at > 0 ? new Date(at).toISOString() : new Date(0).toISOString();
  let json: unknown;
  try {
    json = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (err) {
    const errors = [describeError(err)];
    return { topic, partition, offset: message.offset, sourceTopic, sourcePartition: null, sourceOffset: null, reason: 'unreadable dead letter', errors, attempts: 0, deadLetteredAt: timestamp, key, valueUtf8: null, valueBase64: null };
  }
  const parsed = DeadLetter.safeParse(json);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    return { topic, partition, offset: message.offset, sourceTopic, sourcePartition: null, sourceOffset: null, reason: 'unreadable dead letter', errors, attempts: 0, deadLetteredAt: timestamp, key, valueUtf8: null, valueBase64: null };
  }
  const letter = parsed.data;
  const original = letter.value === null ? null : Buffer.from(letter.value, 'base64');
  return {
    topic,
    partition,
    offset: message.offset,
    sourceTopic,
    sourcePartition: letter.source.partition,
    sourceOffset: letter.source.offset,
    reason: letter.reason,
    errors: letter.errors,
    attempts: letter.attempts,
    deadLetteredAt: new Date(letter.failedAt).toISOString(),
    key: letter.key,
    valueUtf8: original === null ? null : utf8OrNull(original),
    valueBase64: letter.value,
  };
}

/** A scan that did not reach the end of its partitions in time (a broker that answers slowly or not at all). */
export class DeadLetterReadTimeout extends Error {
  override name = 'DeadLetterReadTimeout';
}

interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  start: number;
  /** The high watermark when the scan began: offsets from here on are not read. */
  end: number;
}

/**
 * Reads the records of `ranges` with a consumer of a throwaway group that commits nothing: kafkajs
 * has no group-less consumer. Each partition is sought to its start and read until its end.
 */
async function readRanges(kafka: Kafka, admin: Admin, groupId: string, ranges: PartitionRange[], timeoutMs: number): Promise<Map<string, { partition: number; message: KafkaMessage }[]>> {
  const read = new Map<string, { partition: number; message: KafkaMessage }[]>();
  const pending = ranges.filter((r) => r.start < r.end);
  if (pending.length === 0) return read;
  const key = (topic: string, partition: number): string => `${partition}@${topic}`;
  const next = new Map(pending.map((r) => [key(r.topic, r.partition), r.start]));
  const byKey = new Map(pending.map((r) => [key(r.topic, r.partition), r]));
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
    retry: { retries: 3, restartOnFailure: async () => false },
  });
  let settle: (err?: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    settle = (err?: unknown) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))));
  });
  const finished = (): boolean => [...next.entries()].every(([k, at]) => at >= (byKey.get(k)?.end ?? 0));
  const timer = setTimeout(() => settle(new DeadLetterReadTimeout(`dead letters not read within ${timeoutMs / 1000} s`)), timeoutMs);
  consumer.on(consumer.events.CRASH, (event) => settle(event.payload.error));
  try {
    await consumer.connect();
    for (const topic of new Set(pending.map((r) => r.topic))) await consumer.subscribe({ topic, fromBeginning: true });
    const running = consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const k = key(topic, partition);
        const range = byKey.get(k);
        const offset = Number(message.offset);
        if (range === undefined || offset < range.start || offset >= range.end) return;
        const list = read.get(topic) ?? [];
        list.push({ partition, message });
        read.set(topic, list);
        next.set(k, offset + 1);
        if (finished()) settle();
      },
    });
    // `run` creates the group synchronously, so the seeks are in place before the first fetch.
    for (const r of pending) consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.start) });
    // Awaited below; a crash after the scan ended must not become an unhandled rejection.
    done.catch(() => undefined);
    await Promise.race([running, done]);
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    // A group that committed nothing leaves nothing behind, but an operator listing groups should not see readers.
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return read;
}

/**
 * Reads and republishes a service's dead letters. Dead-letter topics are small (records land
 * there only when something is wrong), so each call reads them from the broker again rather
 * than keeping a copy that would go stale.
 */
export function createDeadLetterStore(opts: DeadLetterStoreOptions): DeadLetterStore {
  const cap = opts.maxRecordsPerTopic ?? 10_000;
  const timeoutMs = opts.readTimeoutMs ?? 15_000;
  const log = opts.logger.child({ component: 'dead-letters' });
  const keys = [...new Set(opts.topics)].filter((k) => catalog[k].deadLetter);
  const known = keys.map((k) => ({ topic: deadLetterTopicName(opts.prefix, k), sourceTopic: topicName(opts.prefix, k) }));
  const sourceOf = new Map(known.map((t) => [t.topic, t.sourceTopic]));

  const withAdmin = async <T>(use: (admin: Admin) => Promise<T>): Promise<T> => {
    const admin = opts.kafka.admin();
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.disconnect();
    }
  };

  const scan = (chosen: readonly string[] = known.map((t) => t.topic)): Promise<DeadLetterScan[]> =>
    withAdmin(async (admin) => {
      const ranges: PartitionRange[] = [];
      const totals = new Map<string, { total: number; truncated: boolean }>();
      for (const topic of chosen) {
        const offsets = await topicOffsets(admin, topic, 5_000);
        // The newest records, the cap shared out among the partitions (dead-letter topics have one).
        const perPartition = Math.max(1, Math.ceil(cap / Math.max(1, offsets.length)));
        let total = 0;
        let truncated = false;
        for (const o of offsets) {
          const low = Number(o.low);
          const high = Number(o.high);
          total += Math.max(0, high - low);
          const start = Math.max(low, high - perPartition);
          if (start > low) truncated = true;
          ranges.push({ topic, partition: o.partition, start, end: high });
        }
        totals.set(topic, { total, truncated });
      }
      const read = await readRanges(opts.kafka, admin, `${opts.prefix}lifecycle-${opts.service}-dead-letter-reader-${randomUUID()}`, ranges, timeoutMs);
      return chosen.map((topic) => {
        const sourceTopic = sourceOf.get(topic) ?? topic.replace(/\.dlq$/, '');
        const records = (read.get(topic) ?? [])
          .map(({ partition, message }) => readDeadLetterRecord(topic, sourceTopic, partition, message))
          .sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
        const { total, truncated } = totals.get(topic) ?? { total: 0, truncated: false };
        return { topic, sourceTopic, total, truncated, records };
      });
    });

  const republish = async (topic: string, choose: (record: DeadLetterRecord) => boolean): Promise<RepublishResult> => {
    const [scanned] = await scan([topic]);
    const result: RepublishResult = { republished: [], skipped: [] };
    const chosen = (scanned?.records ?? []).filter(choose);
    const messages: { key: string | null; value: Buffer }[] = [];
    for (const record of chosen) {
      if (record.valueBase64 === null) {
        result.skipped.push({ partition: record.partition, offset: record.offset, why: record.reason === 'unreadable dead letter' ? 'not a dead letter the services wrote' : 'the original record had no value' });
        continue;
      }
      messages.push({ key: record.key, value: Buffer.from(record.valueBase64, 'base64') });
      // Produced to the topic the dead-letter topic belongs to, never to one a record names.
      result.republished.push({ partition: record.partition, offset: record.offset, sourceTopic: record.sourceTopic });
    }
    const sourceTopic = scanned?.sourceTopic ?? topic;
    // In slices, so one request stays well under the broker's size limit; order is kept.
    for (let at = 0; at < messages.length; at += 500) await opts.producer.send({ topic: sourceTopic, messages: messages.slice(at, at + 500) });
    if (chosen.length > 0) log.info({ topic, sourceTopic, republished: result.republished.length, skipped: result.skipped.length }, 'dead letters republished');
    return result;
  };

  return { topics: known, scan, republish };
}

const Offset = z.union([z.string().regex(/^\d+$/, 'a record offset (digits)'), z.number().int().min(0)]).transform(String);

/**
 * `GET /dead-letters`, `GET /dead-letters/records` and `POST /dead-letters/republish` for the
 * store's topics (see docs/console.md). 503 while Kafka does not answer.
 */
export function installDeadLetterApi(app: FastifyInstance, store: DeadLetterStore): void {
  const names = store.topics.map((t) => t.topic);
  const Topic = z.string().refine((t) => names.includes(t), { message: `one of this service's dead-letter topics: ${names.join(', ') || '(none)'}` });
  const RecordsQuery = z.object({
    topic: Topic,
    reason: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  });
  const RepublishBody = z.union([
    z.strictObject({ topic: Topic, partition: z.number().int().min(0), offset: Offset }),
    z.strictObject({ topic: Topic, reason: z.string().min(1) }),
  ]);

  /** Kafka down or too slow: 503, as every read of the broker answers; anything else is a bug (500). */
  const unavailable = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (!isKafkaError(err) && !(err instanceof DeadLetterReadTimeout)) throw err;
    request.log.warn({ err }, 'dead letters not read');
    return reply.status(503).send({ error: 'dead letters cannot be read right now (Kafka unavailable); retry later' });
  };

  app.get('/dead-letters', async (request, reply) => {
    let scans: DeadLetterScan[];
    try {
      scans = await store.scan();
    } catch (err) {
      return unavailable(err, request, reply);
    }
    return {
        topics: scans.map((s) => {
          const counts = new Map<string, number>();
          for (const r of s.records) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
          const byReason = [...counts.entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
          return { topic: s.topic, sourceTopic: s.sourceTopic, total: s.total, truncated: s.truncated, byReason };
        }),
      };
  });

  app.get('/dead-letters/records', async (request, reply) => {
    const query = RecordsQuery.parse(request.query);
    let scan: DeadLetterScan | undefined;
    try {
      [scan] = await store.scan([query.topic]);
    } catch (err) {
      return unavailable(err, request, reply);
    }
    const matching = (scan?.records ?? []).filter((r) => query.reason === undefined || r.reason === query.reason);
    // Newest first: the failures an operator is looking into are usually the latest.
    return { records: matching.slice(-query.limit).reverse(), truncated: scan?.truncated ?? false };
  });

  app.post('/dead-letters/republish', async (request, reply) => {
    const body = RepublishBody.parse(request.body);
    let result: RepublishResult;
    try {
      result = 'reason' in body ? await store.republish(body.topic, (r) => r.reason === body.reason) : await store.republish(body.topic, (r) => r.partition === body.partition && r.offset === body.offset);
    } catch (err) {
      return unavailable(err, request, reply);
    }
    if (!('reason' in body) && result.republished.length === 0 && result.skipped.length === 0) {
      return reply.status(404).send({ error: `no dead letter at partition ${body.partition}, offset ${body.offset} of ${body.topic}` });
    }
    return result;
  });
}
