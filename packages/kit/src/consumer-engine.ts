import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { schemaOf, topicName, type TopicKey, type TopicValue } from '@lifecycle/contracts';
import type { Pool } from './db.ts';
import { describeError } from './error-serializer.ts';
import {
  asOutage,
  createGroupConsumer,
  Outage,
  parseRecordValue,
  pauseForOutage,
  RejectRecord,
  sendToDeadLetter,
  type ConsumedRecord,
  type Kafka,
  type ParseResult,
  type Producer,
  type RunningConsumer,
} from './kafka.ts';
import { donePrefix, lanesByKey, semaphore } from './consumer-lanes.ts';
import { GROUP_HEARTBEAT_INTERVAL_MS } from './kafka-clients.ts';
import { retry, type RetryOutcome } from './retry.ts';
import { inTransaction, type Transaction } from './transaction.ts';

/**
 * The one consumer engine every service's consumers run on: a record is screened, handled with
 * its chunk, retried alone with backoff when the chunk fails, and dead-lettered when it is at
 * fault; an outage pauses the partition; heartbeats go on while a chunk runs.
 */

/** A record that passed screening, with the value it was read as. */
export interface ChunkItem<T> {
  value: T;
  record: ConsumedRecord;
}

/** A record the handler refused after looking (e.g. against stored state): dead-lettered once the chunk is done. */
export interface Refusal {
  record: ConsumedRecord;
  reason: string;
  errors: string[];
}

export interface ChunkResult {
  refused?: Refusal[];
}

/** Where a consumer reads and who it is: the same for every consumer on the engine. */
export interface ConsumerIdentity<K extends TopicKey> {
  kafka: Kafka;
  /** Producer for dead letters; whatever else a handler publishes is its own business. */
  producer: Producer;
  prefix: string;
  groupId: string;
  topic: K;
  logger: Logger;
}

interface CommonOptions<K extends TopicKey, T> extends ConsumerIdentity<K> {
  /**
   * Reads a record's bytes before any transaction (`readContract(topic)`: JSON checked against
   * the topic's contract). A refusal is dead-lettered with `attempts: 0` and never retried: bad
   * input is the sender's fault, and its reason should be ours, not the database's.
   */
  read: (value: Buffer | null, record: ConsumedRecord) => ParseResult<T>;
  /** Most records handled together (one transaction for `handleChunk`). Default 500. */
  chunkSize?: number;
  /**
   * Per-key lanes: a partition's records are split by key (the customer id), each key's records
   * handled in order, several keys at once up to `concurrency` chunks across the whole consumer.
   * Without lanes a partition's chunks run one after another.
   */
  lanes?: { concurrency: number };
  /** Tries of a record alone (after its chunk failed) before it is dead-lettered. Default 3. */
  maxAttempts?: number;
  /** Ceiling of the first retry's wait (full jitter), doubled for each later one. Default 200 ms. */
  retryBackoffMs?: number;
  /** Longest single retry wait. Default 10 s. */
  retryMaxDelayMs?: number;
  /** In [0, 1), for the retry jitter; default `Math.random`. */
  random?: () => number;
  /** How long a partition pauses in an outage. Default 5 s. */
  outagePauseMs?: number;
  /** Read from the start of the topic when the group has no committed offset. Default true. */
  fromBeginning?: boolean;
  /**
   * Aborted first thing on `stop()`: no new chunk starts, retry waits end, and a record whose
   * handler fails meanwhile is left for the next run instead of being retried or dead-lettered.
   * Pass the one the handlers' own waits listen to.
   */
  stopping?: AbortController;
  /** Partitions whose batches run side by side. Default 3. */
  partitionsConsumedConcurrently?: number;
}

type Handling<T> =
  | {
      /** The database: each chunk runs in one transaction on it, and its failures are told apart from an outage. */
      pool: Pool;
      /**
       * Handles a chunk in the engine's transaction, committed once it resolves. Write the effect
       * and the processed ids in it, so a redelivery changes nothing. Publish through an outbox
       * in `tx`, not to Kafka from inside it. All or nothing: when it throws, the records are
       * handled again one at a time, which isolates a poison record for the dead-letter topic.
       */
      handleChunk: (tx: Transaction, items: ChunkItem<T>[]) => Promise<ChunkResult | void>;
      handleWithOwnCommits?: never;
    }
  | {
      /** The service's database, when it has one: a failure while it does not answer is an outage, not the record's fault. */
      pool?: Pool;
      /**
       * Handles a chunk that commits in steps of its own (messaging: claim, call the provider,
       * record the outcome). Must be idempotent; retried alone per record like `handleChunk`.
       */
      handleWithOwnCommits: (items: ChunkItem<T>[]) => Promise<ChunkResult | void>;
      handleChunk?: never;
    };

export type ConsumerOptions<K extends TopicKey, T = TopicValue<K>> = CommonOptions<K, T> & Handling<T>;

/** A record of the batch in hand: its place in the batch (for offsets), its bytes and where it came from. */
interface Entry {
  index: number;
  /** The record key (the customer id): the lane. */
  key: string | null;
  message: KafkaMessage;
  record: ConsumedRecord;
}

interface Valid<T> extends Entry {
  value: T;
}

/** The batch ends early (stop, rebalance): what is left of it is consumed again. */
class Interrupted extends Error {
  override name = 'Interrupted';
}

/** Reads a record as the topic's contract says: JSON, then its zod schema. */
export function readContract<K extends TopicKey>(topic: K): (value: Buffer | null) => ParseResult<TopicValue<K>> {
  const schema = schemaOf(topic);
  return (value) => parseRecordValue(schema, value);
}

type Verdict = 'reject' | 'stopping' | 'outage' | 'failure';

/**
 * Consumes one topic in a consumer group on the engine (see ConsumerOptions). Offsets are
 * resolved only for records handled or dead-lettered; if a dead letter cannot be written the
 * partition pauses like in any outage and its unresolved records come again.
 */
export async function startConsumer<K extends TopicKey, T = TopicValue<K>>(opts: ConsumerOptions<K, T>): Promise<RunningConsumer> {
  const { kafka, producer, prefix, topic, logger, pool } = opts;
  const chunkSize = Math.max(1, opts.chunkSize ?? 500);
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
  const backoff = { baseDelayMs: opts.retryBackoffMs ?? 200, maxDelayMs: opts.retryMaxDelayMs ?? 10_000 };
  const outagePauseMs = opts.outagePauseMs ?? 5_000;
  const stopping = opts.stopping ?? new AbortController();
  const limit = semaphore(opts.lanes === undefined ? Number.POSITIVE_INFINITY : Math.max(1, opts.lanes.concurrency));
  const { read } = opts;
  const run = async (items: ChunkItem<T>[]): Promise<ChunkResult | void> => {
    if (opts.handleChunk !== undefined) {
      const handleChunk = opts.handleChunk;
      return inTransaction(opts.pool, (tx) => handleChunk(tx, items));
    }
    return opts.handleWithOwnCommits(items);
  };
  const { consumer, joined } = createGroupConsumer(kafka, prefix + opts.groupId);

  const verdictOf = async (err: unknown): Promise<Verdict> => {
    if (err instanceof RejectRecord) return 'reject';
    if (stopping.signal.aborted) return 'stopping';
    return (await asOutage(err, pool)) instanceof Outage ? 'outage' : 'failure';
  };

  const deadLetter = async (entry: Entry, reason: string, errors: string[], attempts: number): Promise<void> => {
    await sendToDeadLetter(producer, prefix, topic, { record: entry.record, value: entry.message.value, reason, errors, attempts });
  };

  const deadLetterRefusals = async (entries: Entry[], result: ChunkResult | void, attempts: number, log: Logger): Promise<void> => {
    for (const refusal of result?.refused ?? []) {
      const entry = entries.find((e) => e.record.offset === refusal.record.offset);
      if (entry === undefined) continue;
      log.warn({ offset: entry.record.offset, reason: refusal.reason, errors: refusal.errors }, 'record rejected to dead-letter topic');
      await deadLetter(entry, refusal.reason, refusal.errors, attempts);
    }
  };

  /** Handles one record alone, with retries; it ends handled or dead-lettered, or throws Outage / Interrupted. */
  const handleAlone = async (item: Valid<T>, log: Logger): Promise<void> => {
    const seen: { err?: unknown; verdict?: Verdict } = {};
    let outcome: RetryOutcome<ChunkResult | void>;
    try {
      outcome = await retry(() => run([{ value: item.value, record: item.record }]), {
        ...backoff,
        maxAttempts,
        signal: stopping.signal,
        ...(opts.random === undefined ? {} : { random: opts.random }),
        shouldRetry: async (err) => {
          seen.err = err;
          seen.verdict = await verdictOf(err);
          return seen.verdict === 'failure';
        },
        onRetry: (err, attempt, delayMs) => log.warn({ err, offset: item.record.offset, attempt, delayMs }, 'record processing failed, retrying'),
      });
    } catch (err) {
      // Aborted while waiting to retry: the service is stopping.
      throw new Interrupted('stopped while waiting to retry a record', { cause: err });
    }
    if (outcome.ok) {
      await deadLetterRefusals([item], outcome.value, outcome.attempts, log);
      return;
    }
    const err = outcome.error;
    const verdict = seen.err === err && seen.verdict !== undefined ? seen.verdict : await verdictOf(err);
    switch (verdict) {
      case 'reject': {
        const reject = err instanceof RejectRecord ? err : new RejectRecord(describeError(err));
        log.warn({ offset: item.record.offset, reason: reject.message, errors: reject.errors }, 'record rejected to dead-letter topic');
        await deadLetter(item, reject.message, reject.errors, outcome.attempts);
        return;
      }
      case 'stopping':
        throw new Interrupted('stopped while a record failed', { cause: err });
      case 'outage':
        // Kafka or the database is down: the record is not at fault; it is consumed again later.
        throw new Outage('Kafka or the database is unavailable', { cause: err });
      case 'failure':
        log.error({ err, offset: item.record.offset, attempts: outcome.attempts }, 'record failed repeatedly, sent to dead-letter topic');
        // Scrubbed: a database error's message quotes the values of the query that failed.
        await deadLetter(item, `processing failed after ${outcome.attempts} attempts`, [describeError(err)], outcome.attempts);
        return;
      default: {
        const unknown: never = verdict;
        throw new Error(`unknown verdict ${String(unknown)}`);
      }
    }
  };

  /**
   * Screens a chunk, handles its valid records together, and on a failure that is not an outage
   * handles them again one at a time. `done` is told of each record once it is handled or
   * dead-lettered.
   */
  const processChunk = async (entries: Entry[], done: (indices: number[]) => void, proceed: () => boolean, log: Logger): Promise<void> => {
    const valid: Valid<T>[] = [];
    for (const entry of entries) {
      const parsed = read(entry.message.value, entry.record);
      if (parsed.ok) {
        valid.push({ ...entry, value: parsed.value });
        continue;
      }
      log.warn({ offset: entry.record.offset, reason: parsed.reason, errors: parsed.errors }, 'record rejected to dead-letter topic');
      await deadLetter(entry, parsed.reason, parsed.errors, 0);
      done([entry.index]);
    }
    if (valid.length === 0) return;
    if (valid.length > 1) {
      try {
        const result = await run(valid.map(({ value, record }) => ({ value, record })));
        await deadLetterRefusals(valid, result, 1, log);
        done(valid.map((item) => item.index));
        return;
      } catch (err) {
        const verdict = await verdictOf(err);
        if (verdict === 'outage') throw new Outage('Kafka or the database is unavailable', { cause: err });
        if (verdict === 'stopping') throw new Interrupted('stopped while a chunk failed', { cause: err });
        log.warn({ err, records: valid.length, offset: valid[0]?.record.offset }, 'batch failed, retrying its records one at a time');
      }
    }
    for (const item of valid) {
      if (!proceed()) throw new Interrupted('the batch ended between the records of a failed chunk');
      await handleAlone(item, log);
      done([item.index]);
    }
  };

  await consumer.connect();
  await consumer.subscribe({ topic: topicName(prefix, topic), fromBeginning: opts.fromBeginning ?? true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
      const log = logger.child({ topic: batch.topic, partition: batch.partition });
      // A chunk may take longer than the session (a slow database, rate-limited sends): beat on a
      // timer meanwhile. kafkajs sends at most one per heartbeat interval. When a beat fails (a
      // rebalance), kafkajs has committed what is resolved; no new chunk starts.
      let beatFailed = false;
      const beat = setInterval(
        () =>
          void heartbeat().catch((err: unknown) => {
            beatFailed = true;
            log.debug({ err }, 'heartbeat failed, the batch ends after the chunk in hand');
          }),
        Math.floor(GROUP_HEARTBEAT_INTERVAL_MS / 2),
      );
      // One lane's outage or failure ends the batch: the others start nothing new.
      let halted = false;
      const proceed = (): boolean => isRunning() && !isStale() && !stopping.signal.aborted && !beatFailed && !halted;
      const finished = donePrefix(batch.messages.length);
      // One resolveOffset per call, not per record: kafkajs parses and formats the offset each time.
      const done = (indices: number[]): void => {
        let last: number | null = null;
        for (const index of indices) last = finished(index) ?? last;
        const message = last === null ? undefined : batch.messages[last];
        if (message !== undefined) resolveOffset(message.offset);
      };
      const entries: Entry[] = batch.messages.map((message, index) => {
        const key = message.key === null ? null : message.key.toString('utf8');
        return { index, key, message, record: { topic: batch.topic, partition: batch.partition, offset: message.offset, key, timestamp: Number(message.timestamp) } };
      });
      const lanes = opts.lanes === undefined ? [entries] : lanesByKey(entries);
      let results: PromiseSettledResult<void>[];
      try {
        // Every lane runs to its end before the batch returns, even when one fails: a record in
        // hand (a send in flight) records its outcome before the pools close.
        results = await Promise.allSettled(
          lanes.map(async (lane) => {
            try {
              for (let start = 0; start < lane.length; start += chunkSize) {
                if (!proceed()) return;
                await limit(async () => {
                  if (proceed()) await processChunk(lane.slice(start, start + chunkSize), done, proceed, log);
                });
              }
            } catch (err) {
              halted = true;
              throw err;
            }
          }),
        );
      } finally {
        clearInterval(beat);
      }
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      if (failures.length === 0) return;
      const errors = failures.filter((f) => !(f instanceof Interrupted));
      for (const failure of errors) {
        const outage = await asOutage(failure, pool);
        if (outage instanceof Outage) {
          // Pause and return: kafkajs counts every error thrown out of eachBatch against its
          // retries and, after a few outages, crashes the consumer out of its group. The
          // unresolved records are fetched again on resume.
          pauseForOutage(pause, outagePauseMs, logger, batch, outage);
          return;
        }
      }
      // A bug, not an outage: kafkajs retries the batch from its first unresolved record.
      if (errors.length > 0) throw errors[0];
      if (stopping.signal.aborted) log.info('stopped during a batch, its unfinished records are left for the next run');
      else log.info('batch ended early, its unfinished records come again');
    },
  });
  return {
    ready: joined,
    stop: async () => {
      stopping.abort();
      await consumer.disconnect();
    },
  };
}

export interface TopicConsumerOptions<K extends TopicKey> extends ConsumerIdentity<K> {
  /** Processes one record; must be idempotent. Throw `RejectRecord` for input that can never succeed. */
  handle: (value: TopicValue<K>, record: ConsumedRecord) => Promise<void>;
  /**
   * Processes many valid records of one partition at once, in offset order, so a backlog
   * replays at full speed. Must be idempotent and all-or-nothing: when it throws, the records are
   * retried one at a time through `handle`, which isolates a poison record for the dead-letter topic.
   */
  handleBatch?: (items: { value: TopicValue<K>; record: ConsumedRecord }[]) => Promise<void>;
  /** Most records given to `handleBatch` at once. */
  batchSize?: number;
  /** Tries before a failing record is dead-lettered. */
  maxAttempts?: number;
  /** Ceiling of the first retry's wait (full jitter), doubled for each later one. */
  retryBackoffMs?: number;
  /** Read from the start of the topic when the group has no committed offset. */
  fromBeginning?: boolean;
  /**
   * The service's database: when handling fails while it does not answer (or Kafka fails), no
   * record is at fault, so none is dead-lettered; the partition pauses and is consumed again.
   */
  pool?: Pool;
  /** How long a partition pauses in an outage. */
  outagePauseMs?: number;
}

/**
 * Consumes a topic on the engine with handlers that open their own transactions: `handle` one
 * record at a time, or `handleBatch` chunks of up to `batchSize`. Each record is parsed against
 * the contract; a bad one, or one that keeps failing, goes to the dead-letter topic and the
 * partition moves on.
 */
export async function startTopicConsumer<K extends TopicKey>(opts: TopicConsumerOptions<K>): Promise<RunningConsumer> {
  const { handle, handleBatch } = opts;
  return startConsumer<K>({
    kafka: opts.kafka,
    producer: opts.producer,
    prefix: opts.prefix,
    groupId: opts.groupId,
    topic: opts.topic,
    logger: opts.logger,
    read: readContract(opts.topic),
    chunkSize: handleBatch === undefined ? 1 : (opts.batchSize ?? 500),
    ...(opts.pool === undefined ? {} : { pool: opts.pool }),
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.retryBackoffMs === undefined ? {} : { retryBackoffMs: opts.retryBackoffMs }),
    ...(opts.outagePauseMs === undefined ? {} : { outagePauseMs: opts.outagePauseMs }),
    ...(opts.fromBeginning === undefined ? {} : { fromBeginning: opts.fromBeginning }),
    handleWithOwnCommits: async (items) => {
      if (handleBatch !== undefined && items.length > 1) await handleBatch(items);
      else for (const { value, record } of items) await handle(value, record);
    },
  });
}
