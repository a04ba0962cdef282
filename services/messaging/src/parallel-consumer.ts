import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaMessage } from 'kafkajs';
import { topicName, schemaOf, type MessageRequested } from '@lifecycle/contracts';
import {
  asOutage,
  createGroupConsumer,
  Outage,
  pauseForOutage,
  parseRecordValue,
  RejectRecord,
  sendToDeadLetter,
  describeError,
  type ConsumedRecord,
  type Kafka,
  type Logger,
  type Pool,
  type Producer,
  type RunningConsumer,
} from '@lifecycle/kit';
import { lanesByKey } from './domain/send-lanes.ts';

export interface ParallelRequestConsumerOptions {
  kafka: Kafka;
  producer: Producer;
  prefix: string;
  groupId: string;
  logger: Logger;
  handle: (value: MessageRequested, record: ConsumedRecord) => Promise<void>;
  /** Records handled at the same time across all partitions; one customer's never overlap. */
  concurrency: number;
  maxAttempts?: number;
  retryBackoffMs?: number;
  /** Aborted first thing on `stop()`: handlers waiting out a retry give up and the batch is redelivered later. */
  stopping?: AbortController;
  /** The service's database: a failure while it does not answer dead-letters nothing; the partition pauses. */
  pool?: Pool;
  outagePauseMs?: number;
}

/** A counting semaphore: at most `limit` holders at once. */
function semaphore(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * The `messages.requested` consumer. Like the kit's topic consumer (contract check, retries,
 * dead letters, offsets resolved only once handled), but a batch is split into per-customer
 * lanes that run side by side up to `concurrency`, so one slow send does not hold up other
 * customers while each customer's messages stay in order. Offsets are resolved once the whole
 * batch is done; a crash before that redelivers it, and the dedupe claims make that harmless.
 */
export async function startParallelRequestConsumer(opts: ParallelRequestConsumerOptions): Promise<RunningConsumer> {
  const { kafka, producer, prefix, logger, handle } = opts;
  const maxAttempts = opts.maxAttempts ?? 3;
  const backoff = opts.retryBackoffMs ?? 200;
  const schema = schemaOf('messagesRequested');
  const limit = semaphore(Math.max(1, opts.concurrency));
  const { consumer, joined } = createGroupConsumer(kafka, prefix + opts.groupId);

  const processOne = async (record: ConsumedRecord, message: KafkaMessage): Promise<void> => {
    const log = logger.child({ topic: record.topic, partition: record.partition, offset: record.offset });
    const parsed = parseRecordValue(schema, message.value);
    if (!parsed.ok) {
      log.warn({ reason: parsed.reason, errors: parsed.errors }, 'record rejected to dead-letter topic');
      await sendToDeadLetter(producer, prefix, 'messagesRequested', { record, value: message.value, reason: parsed.reason, errors: parsed.errors, attempts: 0 });
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await handle(parsed.value, record);
        return;
      } catch (err) {
        // Stopping: leave the record (and its offset) for the next run instead of retrying now.
        if (opts.stopping?.signal.aborted === true) throw err;
        // Kafka or the database is down: the request is not at fault; it is consumed again later.
        const outage = await asOutage(err, opts.pool);
        if (outage instanceof Outage) throw outage;
        if (err instanceof RejectRecord) {
          log.warn({ reason: err.message, errors: err.errors }, 'record rejected to dead-letter topic');
          await sendToDeadLetter(producer, prefix, 'messagesRequested', { record, value: message.value, reason: err.message, errors: err.errors, attempts: attempt });
          return;
        }
        if (attempt >= maxAttempts) {
          log.error({ err, attempts: attempt }, 'record failed repeatedly, sent to dead-letter topic');
          // Scrubbed: a database error's message quotes the values of the query that failed.
          const detail = describeError(err);
          await sendToDeadLetter(producer, prefix, 'messagesRequested', { record, value: message.value, reason: `processing failed after ${attempt} attempts`, errors: [detail], attempts: attempt });
          return;
        }
        log.warn({ err, attempt }, 'record processing failed, retrying');
        await sleep(backoff * 2 ** (attempt - 1));
      }
    }
  };

  await consumer.connect();
  await consumer.subscribe({ topic: topicName(prefix, 'messagesRequested'), fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
      const records = batch.messages.map((message) => ({
        key: message.key === null ? null : message.key.toString('utf8'),
        message,
        record: { topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key === null ? null : message.key.toString('utf8') },
      }));
      // Sends may wait out rate limits for many seconds; keep the group membership alive meanwhile.
      const beat = setInterval(() => void heartbeat().catch(() => undefined), 3_000);
      try {
        // Every lane runs to its end before the batch returns, even when one fails: a send still
        // in flight must record its outcome before the pools close.
        const results = await Promise.allSettled(
          lanesByKey(records).map(async (lane) => {
            for (const { record, message } of lane) {
              if (!isRunning() || isStale() || opts.stopping?.signal.aborted === true) return;
              await limit(() => processOne(record, message));
            }
          }),
        );
        const failure = results.find((r) => r.status === 'rejected');
        if (failure !== undefined) {
          if (opts.stopping?.signal.aborted === true) {
            logger.info({ topic: batch.topic, partition: batch.partition }, 'stopped during a batch, its unfinished records are left for the next run');
            return;
          }
          // Pause and return (not throw: kafkajs counts each throw against its retries and, after
          // a few outages, crashes the consumer out of its group); the batch comes again on resume.
          if (failure.reason instanceof Outage) {
            pauseForOutage(pause, opts.outagePauseMs ?? 5_000, logger, batch, failure.reason);
            return;
          }
          throw failure.reason;
        }
      } finally {
        clearInterval(beat);
      }
      // A lane that stopped early left records unhandled: resolve nothing, the batch comes again.
      if (!isRunning() || isStale() || opts.stopping?.signal.aborted === true) return;
      const last = batch.messages.at(-1);
      if (last !== undefined) resolveOffset(last.offset);
    },
  });
  return {
    ready: joined,
    stop: async () => {
      opts.stopping?.abort();
      await consumer.disconnect();
    },
  };
}
