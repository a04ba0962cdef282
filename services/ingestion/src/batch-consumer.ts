import { setTimeout as sleep } from 'node:timers/promises';
import { inArray } from 'drizzle-orm';
import type { KafkaMessage } from 'kafkajs';
import {
  asOutage,
  createGroupConsumer,
  inTransaction,
  isKafkaError,
  Outage,
  pauseForOutage,
  sendToDeadLetter,
  describeError,
  type ConsumedRecord,
  type Logger,
  type Outbox,
  type RunningConsumer,
  type Runtime,
} from '@lifecycle/kit';
import { topicName, type LifecycleEvent, type SegmentCall } from '@lifecycle/contracts';
import { identityLinks, seenMessages } from './db/schema.ts';
import { acceptCall, linkOf } from './domain/accept-call.ts';
import { issueLines, readCallRecord } from './domain/validate-call.ts';

interface Item {
  record: ConsumedRecord;
  message: KafkaMessage;
  call: SegmentCall;
}

interface Rejection {
  record: ConsumedRecord;
  message: KafkaMessage;
  reason: string;
  errors: string[];
}

export interface IngestionConsumerOptions {
  runtime: Runtime;
  /** Where the clean events wait for the relay, written in the chunk's transaction. */
  outbox: Outbox;
  logger: Logger;
  /** Records validated, deduplicated and written to the outbox in one transaction. */
  chunkSize?: number;
  /** Tries of a chunk, then of each of its records alone, before a record is dead-lettered. */
  maxAttempts?: number;
  retryBackoffMs?: number;
  /** How long a partition stays paused when Kafka or the database is down. */
  pauseMs?: number;
  /** The service's clock: dedupe entries are stamped with it, as the purge compares with it. */
  now?: () => Date;
}

/**
 * When ingestion received a record: its Kafka timestamp (the HTTP API sets it to the request's
 * arrival; other producers' clients to their send time, or the broker to its append time). A
 * record without one (message format before Kafka 0.10) counts as received now.
 */
function receivedAtOf(message: KafkaMessage): Date {
  const ms = Number(message.timestamp);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : new Date();
}

/**
 * Consumes `commerce.events` in batches, so a large backlog replays at full speed: per chunk of
 * records, one transaction records the new messageIds and identity links and writes the clean
 * events to the outbox, which publishes them after the commit; rejected records go to the DLQ. A chunk that keeps failing is
 * retried record by record, so only the poison record reaches the DLQ and the partition moves
 * on. If a dead letter cannot be written the batch fails and its offsets are not committed.
 */
export async function startIngestionConsumer(opts: IngestionConsumerOptions): Promise<RunningConsumer> {
  const { runtime, logger, outbox } = opts;
  const { producer, prefix, kafka } = runtime;
  const chunkSize = opts.chunkSize ?? 500;
  const maxAttempts = opts.maxAttempts ?? 3;
  const backoff = opts.retryBackoffMs ?? 200;
  const pauseMs = opts.pauseMs ?? 5_000;
  const now = opts.now ?? (() => new Date());
  const { consumer, joined } = createGroupConsumer(kafka, `${prefix}lifecycle-ingestion`);

  const deadLetter = async (rejection: Rejection, attempts: number): Promise<void> => {
    const { record, message } = rejection;
    logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, reason: rejection.reason, errors: rejection.errors }, 'record rejected to dead-letter topic');
    await sendToDeadLetter(producer, prefix, 'commerceEvents', { record, value: message.value, reason: rejection.reason, errors: rejection.errors, attempts });
  };

  /** Validates, deduplicates and enqueues a chunk in one transaction; resolves to its rejections. */
  const processChunk = async (items: Item[]): Promise<Rejection[]> =>
    inTransaction(runtime.pool, async (tx) => {
      const anonymous = [...new Set(items.flatMap((i) => (i.call.userId === undefined && i.call.anonymousId !== undefined ? [i.call.anonymousId] : [])))];
      const links = new Map<string, string>();
      if (anonymous.length > 0) {
        const rows = await tx.select().from(identityLinks).where(inArray(identityLinks.anonymousId, anonymous));
        for (const row of rows) links.set(row.anonymousId, row.userId);
      }
      const rejections: Rejection[] = [];
      const accepted: LifecycleEvent[] = [];
      const newLinks: { anonymousId: string; userId: string; messageId: string }[] = [];
      const ids = new Set<string>();
      for (const item of items) {
        const anonymousId = item.call.anonymousId;
        const result = acceptCall(item.call, { receivedAt: receivedAtOf(item.message), linkedUserId: anonymousId === undefined ? null : links.get(anonymousId) ?? null });
        if (!result.ok) {
          rejections.push({ record: item.record, message: item.message, reason: result.reason, errors: result.errors });
          continue;
        }
        // A messageId twice in one chunk counts once, as it would across chunks.
        if (ids.has(result.event.id)) continue;
        ids.add(result.event.id);
        accepted.push(result.event);
        const link = linkOf(item.call);
        // The first link of an anonymous id wins: a shared device does not move history between customers.
        if (link !== null && !links.has(link.anonymousId)) {
          links.set(link.anonymousId, link.userId);
          newLinks.push({ ...link, messageId: item.call.messageId });
        }
      }
      const seenAt = now();
      const fresh =
        accepted.length === 0
          ? new Set<string>()
          : new Set(
              (
                await tx
                  .insert(seenMessages)
                  .values(accepted.map((e) => ({ messageId: e.id, customerId: e.customerId, firstSeenAt: seenAt })))
                  .onConflictDoNothing()
                  .returning({ messageId: seenMessages.messageId })
              ).map((r) => r.messageId),
            );
      const linksToRecord = newLinks.filter((l) => fresh.has(l.messageId));
      if (linksToRecord.length > 0) await tx.insert(identityLinks).values(linksToRecord).onConflictDoNothing();
      const events = accepted.filter((e) => fresh.has(e.id));
      // Published by the outbox relay once this commits: a chunk that rolls back publishes nothing.
      await outbox.enqueue(tx, 'lifecycleEvents', events);
      if (accepted.length > events.length) logger.info({ duplicates: accepted.length - events.length }, 'duplicate events dropped');
      for (const link of linksToRecord) logger.info({ eventId: link.messageId, customerId: link.userId }, 'anonymous id linked to customer');
      return rejections;
    });

  const withRetries = async <T>(work: () => Promise<T>, log: Logger): Promise<{ ok: true; value: T } | { ok: false; err: unknown; attempts: number }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, value: await work() };
      } catch (err) {
        if (attempt >= maxAttempts) return { ok: false, err, attempts: attempt };
        log.warn({ err, attempt }, 'processing failed, retrying');
        await sleep(backoff * 2 ** (attempt - 1));
      }
    }
  };

  const handleChunk = async (items: Item[], log: Logger): Promise<void> => {
    const whole = await withRetries(() => processChunk(items), log);
    if (whole.ok) {
      for (const rejection of whole.value) await deadLetter(rejection, 1);
      return;
    }
    const outage = await asOutage(whole.err, runtime.pool);
    if (outage instanceof Outage) throw outage;
    // One record may be poisoning the chunk: try each alone, so only it goes to the DLQ.
    for (const item of items) {
      const alone = await withRetries(() => processChunk([item]), log);
      if (alone.ok) {
        for (const rejection of alone.value) await deadLetter(rejection, 1);
        continue;
      }
      // The outage may have begun after the chunk failed: then this record is not at fault either.
      // When the chunk comes again, the records published alone are recognised by their messageId.
      const aloneOutage = await asOutage(alone.err, runtime.pool);
      if (aloneOutage instanceof Outage) throw aloneOutage;
      log.error({ err: alone.err, offset: item.record.offset, attempts: alone.attempts }, 'record failed repeatedly, sent to dead-letter topic');
      // Scrubbed: a database error's message quotes the values of the query that failed.
      const detail = describeError(alone.err);
      await deadLetter({ record: item.record, message: item.message, reason: `processing failed after ${alone.attempts} attempts`, errors: [detail] }, alone.attempts);
    }
  };

  interface BatchControls {
    resolveOffset: (offset: string) => void;
    heartbeat: () => Promise<void>;
    isRunning: () => boolean;
    isStale: () => boolean;
  }

  const consumeBatch = async (batch: { topic: string; partition: number; messages: KafkaMessage[] }, controls: BatchControls, log: Logger): Promise<void> => {
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (!controls.isRunning() || controls.isStale()) break;
      const messages = batch.messages.slice(start, start + chunkSize);
      const items: Item[] = [];
      for (const message of messages) {
        const record: ConsumedRecord = { topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key === null ? null : message.key.toString('utf8') };
        // Refused here, before any transaction: bad input is never retried, and its reason is ours, not the database's.
        const read = readCallRecord(message.value);
        if (read.ok) items.push({ record, message, call: read.call });
        else await deadLetter({ record, message, reason: read.reason, errors: issueLines(read.issues) }, 0);
      }
      if (items.length > 0) await handleChunk(items, log);
      const last = messages.at(-1);
      if (last !== undefined) controls.resolveOffset(last.offset);
      // Keeps the group membership alive while a long batch is worked through.
      await controls.heartbeat();
    }
  };

  await consumer.connect();
  await consumer.subscribe({ topic: topicName(prefix, 'commerceEvents'), fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
      const log = logger.child({ topic: batch.topic, partition: batch.partition });
      try {
        await consumeBatch(batch, { resolveOffset, heartbeat, isRunning, isStale }, log);
      } catch (err) {
        // Pause and return, as the kit's consumer does: an error thrown out of eachBatch counts
        // against kafkajs's retries, and enough outages crash the consumer out of its group. The
        // unresolved records are fetched again when the partition resumes.
        if (err instanceof Outage || isKafkaError(err)) {
          pauseForOutage(pause, pauseMs, logger, batch, err);
          return;
        }
        // Not committed: the records from the first unresolved one are consumed again.
        throw err;
      }
    },
  });
  return {
    ready: joined,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}
