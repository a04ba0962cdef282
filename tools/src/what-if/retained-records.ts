import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';

/** A record as it sits on a topic: its bytes, headers and Kafka timestamp, untouched. */
export interface RetainedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  /** The record's Kafka timestamp, ms since the epoch: on `commerce.events` the instant ingestion's HTTP API received the call. */
  timestamp: number;
}

export interface Retained {
  /** The records `keep` kept. */
  records: RetainedRecord[];
  /** The earliest timestamp of any record the topic retains; null when it retains none. */
  earliest: number | null;
}

/**
 * Reads everything a topic retains right now, from each partition's start to the end offsets of
 * the moment it begins (records added meanwhile are not waited for), keeping those `keep` keeps
 * (a year of events need not sit in memory for a month's window). A consumer group of its own,
 * named after `groupPrefix`, deleted at the end: it commits nothing and leaves nothing behind.
 */
export async function readRetained(kafka: Kafka, topic: string, groupPrefix: string, keep: (r: RetainedRecord) => boolean = () => true, timeoutMs = 300_000): Promise<Retained> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${groupPrefix}what-if-reader-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId });
  try {
    const ends = new Map<number, number>();
    for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.high) > Number(p.low)) ends.set(p.partition, Number(p.high));
    if (ends.size === 0) return { records: [], earliest: null };
    const records: RetainedRecord[] = [];
    let earliest: number | null = null;
    const left = new Set(ends.keys());
    let finish = (): void => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const end = ends.get(partition);
        if (end === undefined || Number(message.offset) >= end) return;
        const headers: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (Buffer.isBuffer(v)) headers[k] = v;
        const record = { key: message.key, value: message.value, headers, timestamp: Number(message.timestamp) };
        earliest = Math.min(earliest ?? record.timestamp, record.timestamp);
        if (keep(record)) records.push(record);
        if (Number(message.offset) >= end - 1) {
          left.delete(partition);
          if (left.size === 0) finish();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)), timeoutMs)));
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return { records, earliest };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
