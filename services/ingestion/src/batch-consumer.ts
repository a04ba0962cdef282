import { sql } from 'drizzle-orm';
import { startConsumer, type ChunkItem, type ChunkResult, type Logger, type Outbox, type Refusal, type RunningConsumer, type Runtime, type Transaction } from '@lifecycle/kit';
import type { LifecycleEvent, SegmentCall } from '@lifecycle/contracts';
import { identityLinks, seenMessages } from './db/schema.ts';
import { acceptCall, linkOf } from './domain/accept-call.ts';
import { issueLines, readCallRecord } from './domain/validate-call.ts';

export interface IngestionConsumerOptions {
  runtime: Runtime;
  /** Where the clean events wait for the relay, written in the chunk's transaction. */
  outbox: Outbox;
  logger: Logger;
  /** Records validated, deduplicated and written to the outbox in one transaction. Default 1,000. */
  chunkSize?: number;
  /** Tries of each record of a failed chunk alone before it is dead-lettered. */
  maxAttempts?: number;
  retryBackoffMs?: number;
  /** How long a partition stays paused when Kafka or the database is down. */
  pauseMs?: number;
  /** The service's clock: dedupe entries are stamped with it, as the purge compares with it. */
  now?: () => Date;
  /** The time of receipt is the service's clock, not the record's timestamp (`CLOCK=simulated`: producers stamp real time). */
  receiptFromClock?: boolean;
}

/**
 * When ingestion received a record: its Kafka timestamp (the HTTP API sets it to the request's
 * arrival; other producers' clients to their send time, or the broker to its append time). A
 * record without one (message format before Kafka 0.10) counts as received now.
 */
function receivedAtOf(timestamp: number | undefined): Date {
  return timestamp !== undefined && Number.isFinite(timestamp) && timestamp > 0 ? new Date(timestamp) : new Date();
}

/**
 * Records the chunk's messageIds and, for those not seen before, their identity links, in one
 * statement; resolves to the messageIds that were new. Arrays as parameters (one per column, not
 * one per value) keep the statement and its planning the same size whatever the chunk holds.
 */
async function recordFirstSeen(tx: Transaction, events: LifecycleEvent[], links: { anonymousId: string; userId: string; messageId: string }[], seenAt: Date): Promise<Set<string>> {
  // test/database-outage.test.ts cuts the connection right after `insert into "ingestion"."seen_messages"`.
  const { rows } = await tx.execute(sql`
    WITH fresh AS (
      insert into ${seenMessages} (message_id, customer_id, first_seen_at)
      SELECT r.message_id, r.customer_id, ${seenAt.toISOString()}::timestamptz
      FROM unnest(${sql.param(events.map((e) => e.id))}::text[], ${sql.param(events.map((e) => e.customerId))}::text[]) AS r(message_id, customer_id)
      ON CONFLICT DO NOTHING
      RETURNING message_id),
    linked AS (
      INSERT INTO ${identityLinks} (anonymous_id, user_id, message_id)
      SELECT l.anonymous_id, l.user_id, l.message_id
      FROM unnest(${sql.param(links.map((l) => l.anonymousId))}::text[], ${sql.param(links.map((l) => l.userId))}::text[], ${sql.param(links.map((l) => l.messageId))}::text[]) AS l(anonymous_id, user_id, message_id)
      WHERE l.message_id IN (SELECT message_id FROM fresh)
      ON CONFLICT DO NOTHING)
    SELECT message_id FROM fresh`);
  const fresh = new Set<string>();
  for (const row of rows) if (typeof row.message_id === 'string') fresh.add(row.message_id);
  return fresh;
}

/**
 * Consumes `commerce.events` on the kit's engine, so a large backlog replays at full speed: per
 * chunk of records, one transaction records the new messageIds and identity links and writes the
 * clean events to the outbox, which publishes them after the commit. A record that cannot be read is dead-lettered before
 * any transaction (attempts 0); a call the rules refuse after the chunk committed. A chunk that
 * fails is retried record by record, so only the poison record reaches the DLQ.
 */
export async function startIngestionConsumer(opts: IngestionConsumerOptions): Promise<RunningConsumer> {
  const { runtime, logger, outbox } = opts;
  const { producer, prefix } = runtime;
  const now = opts.now ?? (() => new Date());

  /** Validates, deduplicates and enqueues a chunk in the engine's transaction; resolves to its refusals. */
  const processChunk = async (tx: Transaction, items: ChunkItem<SegmentCall>[]): Promise<ChunkResult> => {
    const anonymous = [...new Set(items.flatMap((i) => (i.value.userId === undefined && i.value.anonymousId !== undefined ? [i.value.anonymousId] : [])))];
    const links = new Map<string, string>();
    if (anonymous.length > 0) {
      const { rows } = await tx.execute(sql`SELECT anonymous_id, user_id FROM ${identityLinks} WHERE anonymous_id = ANY(${sql.param(anonymous)}::text[])`);
      for (const row of rows) if (typeof row.anonymous_id === 'string' && typeof row.user_id === 'string') links.set(row.anonymous_id, row.user_id);
    }
    const refused: Refusal[] = [];
    const accepted: LifecycleEvent[] = [];
    const newLinks: { anonymousId: string; userId: string; messageId: string }[] = [];
    const ids = new Set<string>();
    for (const { value: call, record } of items) {
      const anonymousId = call.anonymousId;
      const result = acceptCall(call, { receivedAt: opts.receiptFromClock === true ? now() : receivedAtOf(record.timestamp), linkedUserId: anonymousId === undefined ? null : links.get(anonymousId) ?? null });
      if (!result.ok) {
        refused.push({ record, reason: result.reason, errors: result.errors });
        continue;
      }
      // A messageId twice in one chunk counts once, as it would across chunks.
      if (ids.has(result.event.id)) continue;
      ids.add(result.event.id);
      accepted.push(result.event);
      const link = linkOf(call);
      // The first link of an anonymous id wins: a shared device does not move history between customers.
      if (link !== null && !links.has(link.anonymousId)) {
        links.set(link.anonymousId, link.userId);
        newLinks.push({ ...link, messageId: call.messageId });
      }
    }
    const fresh = accepted.length === 0 ? new Set<string>() : await recordFirstSeen(tx, accepted, newLinks, now());
    const linksToRecord = newLinks.filter((l) => fresh.has(l.messageId));
    const events = accepted.filter((e) => fresh.has(e.id));
    // Published by the outbox relay once this commits: a chunk that rolls back publishes nothing.
    await outbox.enqueue(tx, 'lifecycleEvents', events);
    if (accepted.length > events.length) logger.info({ duplicates: accepted.length - events.length }, 'duplicate events dropped');
    for (const link of linksToRecord) logger.info({ eventId: link.messageId, customerId: link.userId }, 'anonymous id linked to customer');
    return { refused };
  };

  return startConsumer({
    kafka: runtime.kafka,
    producer,
    prefix,
    groupId: 'lifecycle-ingestion',
    topic: 'commerceEvents',
    logger,
    pool: runtime.pool,
    // Refused here, before any transaction: bad input is never retried, and its reason is ours, not the database's.
    read: (value) => {
      const read = readCallRecord(value);
      return read.ok ? { ok: true, value: read.call } : { ok: false, reason: read.reason, errors: issueLines(read.issues) };
    },
    chunkSize: opts.chunkSize ?? 1_000,
    handleChunk: processChunk,
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.retryBackoffMs === undefined ? {} : { retryBackoffMs: opts.retryBackoffMs }),
    ...(opts.pauseMs === undefined ? {} : { outagePauseMs: opts.pauseMs }),
  });
}
