import { Kafka, Partitioners, logLevel, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type pg from 'pg';
import { databaseReachable } from './db.ts';
import { describeError, scrubStack } from './error-serializer.ts';
import { groupConsumer, limitedRetriesWarning, producerSettings } from './kafka-clients.ts';
import type { z } from 'zod';
import {
  deadLetterTopicName,
  topicName,
  type DeadLetter,
  type TopicKey,
  type TopicValue,
} from '@lifecycle/contracts';

export type { Kafka, Producer, Consumer };

export interface KafkaOptions {
  clientId: string;
  brokers: string[];
  logger: Logger;
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose own logs go through the service's pino logger. */
export function createKafka({ clientId, brokers, logger }: KafkaOptions): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 300, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        // kafkajs logs a failed eachBatch with the error's raw `stack`, whose head is its message.
        const { message, stack, ...extra } = log;
        if (message === limitedRetriesWarning) return;
        const fields = typeof stack === 'string' ? { ...extra, stack: scrubStack(stack) } : extra;
        kafkaLogger[levelNames[level] ?? 'info'](fields, message);
      },
  });
}

/**
 * A producer that places keys the way the Java client does (murmur2), so any producer in the
 * store's stack agrees on which partition holds a customer; idempotent, so a retried send never
 * writes a record twice (see `producerSettings`).
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ ...producerSettings, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
}

/** Publishes envelopes, keyed by customer id so a customer's records stay in order. */
export async function publish<K extends TopicKey>(
  producer: Producer,
  prefix: string,
  key: K,
  values: TopicValue<K>[],
  opts: {
    /** The records' timestamp (their arrival time for consumers); default: the producer's clock. */
    at?: Date;
  } = {},
): Promise<void> {
  if (values.length === 0) return;
  const timestamp = opts.at === undefined ? undefined : String(opts.at.getTime());
  await producer.send({
    topic: topicName(prefix, key),
    messages: values.map((value) => ({ key: keyOf(value), value: JSON.stringify(value), ...(timestamp === undefined ? {} : { timestamp }) })),
  });
}

function keyOf(value: unknown): string | null {
  if (typeof value === 'object' && value !== null && 'customerId' in value && typeof value.customerId === 'string') {
    return value.customerId;
  }
  return null;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** When the record was written to Kafka (ms since the epoch): its arrival time, when known. */
  timestamp?: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string; errors: string[] };

/** JSON and schema validation of one record value, with readable errors. */
export function parseRecordValue<S extends z.ZodType>(schema: S, value: Buffer | null): ParseResult<z.infer<S>> {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty record value', errors: [] };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'value is not valid JSON', errors: [describeError(err)] };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    reason: 'value does not match the topic schema',
    errors: result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`),
  };
}

export interface DeadLetterInput {
  record: ConsumedRecord;
  value: Buffer | null;
  reason: string;
  errors: string[];
  attempts: number;
}

/** Writes a record that cannot be processed to `<topic>.dlq`, original bytes included. */
export async function sendToDeadLetter(producer: Producer, prefix: string, key: TopicKey, input: DeadLetterInput): Promise<void> {
  const letter: DeadLetter = {
    version: 1,
    reason: input.reason,
    errors: input.errors,
    source: { topic: input.record.topic, partition: input.record.partition, offset: input.record.offset },
    key: input.record.key,
    value: input.value === null ? null : input.value.toString('base64'),
    attempts: input.attempts,
    failedAt: new Date().toISOString(),
  };
  await producer.send({
    topic: deadLetterTopicName(prefix, key),
    messages: [{ key: input.record.key, value: JSON.stringify(letter) }],
  });
}

/** A handler's verdict on a record it cannot use: it goes to the dead-letter topic with the reason. */
export class RejectRecord extends Error {
  override name = 'RejectRecord';
  readonly errors: string[];
  constructor(reason: string, errors: string[] = []) {
    super(reason);
    this.errors = errors;
  }
}

/** kafkajs' own errors (`KafkaJSConnectionError`, `KafkaJSNumberOfRetriesExceeded`…); its CommonJS build gives Node no named export of their class. */
export function isKafkaError(err: unknown): boolean {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/** Kafka or the database is down: no record is at fault. */
export class Outage extends Error {
  override name = 'Outage';
}

/**
 * An Outage when the failure comes from Kafka or from a database that does not answer, so the
 * caller retries later instead of dead-lettering; the error itself otherwise.
 */
export async function asOutage(err: unknown, pool: pg.Pool | undefined): Promise<unknown> {
  if (err instanceof Outage) return err;
  if (isKafkaError(err) || (pool !== undefined && !(await databaseReachable(pool)))) return new Outage('Kafka or the database is unavailable', { cause: err });
  return err;
}

/** Back-pressure in an outage: stop fetching the partition for a while; its unresolved records are fetched again on resume. */
export function pauseForOutage(pause: () => () => void, pauseMs: number, logger: Logger, at: { topic: string; partition: number }, err: unknown): void {
  logger.warn({ err, topic: at.topic, partition: at.partition, pauseMs }, 'partition paused, Kafka or the database is unavailable');
  const resume = pause();
  setTimeout(resume, pauseMs).unref();
}

export interface RunningConsumer {
  /** True once the consumer has joined its group and until it stops or crashes. */
  ready: () => boolean;
  stop: () => Promise<void>;
}

/**
 * A consumer in a group, with the settings every service uses (a 10 s session, heartbeats every
 * second, no topic auto-creation; see `groupConsumer`) and `joined`: true from joining the group
 * until it stops or crashes. Its `run` returns before it has joined: readiness is `joined`.
 */
export function createGroupConsumer(kafka: Kafka, groupId: string): { consumer: Consumer; joined: () => boolean } {
  const consumer = groupConsumer(kafka, { groupId, allowAutoTopicCreation: false });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.CRASH, () => {
    joined = false;
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });
  return { consumer, joined: () => joined };
}
