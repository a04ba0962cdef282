import { sql } from 'drizzle-orm';
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';
import { topicName, type TopicKey, type TopicValue } from '@lifecycle/contracts';
import type { Transaction } from './transaction.ts';

/**
 * A transactional outbox: a decision's records are written to `<schema>.outbox` in the
 * decision's own transaction, so they exist exactly when the decision committed, and a relay
 * publishes them afterwards. No transaction waits for Kafka, and a rolled-back decision leaves
 * nothing on a topic.
 *
 * Order: rows are published in id order, ids being assigned at insert. Writers that serialize the
 * work of one key (a customer's row lock, a partition) therefore publish each key's records in
 * commit order. One relay per schema publishes at a time (a session advisory lock), with an
 * idempotent producer and one request in flight, so neither a retry nor a second replica
 * reorders a key. A crash between publish and delete publishes the same records again; they
 * carry their envelope ids, which consumers deduplicate on.
 */

export interface OutboxOptions {
  pool: pg.Pool;
  kafka: Kafka;
  /** The service's own schema, which holds its `outbox` table (see `outboxTable`). */
  schema: string;
  /** Topic prefix, as for `publish`. */
  prefix: string;
  logger: Logger;
  /** The service's clock: `created_at` of enqueued rows. */
  now?: () => Date;
  /**
   * Records carry `created_at` (when they were enqueued, by the service's clock) as their Kafka
   * timestamp rather than the time the relay publishes them: with a simulated clock, the time
   * the downstream services take as the records' arrival.
   */
  stampWithClock?: boolean;
  /** How often the relay looks for rows no commit told it about (a crash's leftovers, another replica's). */
  pollMs?: number;
  /** Most rows published per produce request. Default 500. */
  batchSize?: number;
  /**
   * Most bytes of record values per produce request (at least one row goes). Default 900,000:
   * every partition's record batch then stays under the broker's default `message.max.bytes` (1 MiB).
   */
  maxBatchBytes?: number;
  /** Longest wait between tries while Kafka or the database is down. */
  maxBackoffMs?: number;
  /** How long `stop` waits to publish what is left before giving up (the rows stay for another replica or the next start). */
  stopTimeoutMs?: number;
  /**
   * The relay vacuums the outbox itself after deleting this many rows (default 10,000; 0: never).
   * Every record is a row inserted and deleted, so the table is all dead rows unless vacuumed;
   * autovacuum may be off, or a minute behind a busy relay, and meanwhile every read of the
   * table (the relay's, a health check's) walks the dead rows and the table only grows.
   */
  vacuumAfterRows?: number;
}

/** The part of a transaction `enqueue` uses: any drizzle transaction on the service's pool. */
export type OutboxTransaction = Pick<Transaction, 'execute'>;

export interface Outbox {
  /** Writes records in the caller's transaction; the relay publishes them once it commits. */
  enqueue: <K extends TopicKey>(tx: OutboxTransaction, key: K, values: TopicValue<K>[]) => Promise<void>;
  /** Starts the relay. */
  start: () => void;
  /** Makes the relay look now (a commit in this process that enqueued; tests). */
  wake: () => void;
  /** Resolves once the relay has found the outbox empty after this call (tests, a command that must see its records out). */
  drained: () => Promise<void>;
  /** Rows waiting to be published. */
  backlog: () => Promise<number>;
  /** Stops the relay: publishes what is left (for up to `stopTimeoutMs`), releases its lease. */
  stop: () => Promise<void>;
}

const schemaName = /^[a-z_][a-z0-9_]*$/;

const OutboxRow = z.object({
  id: z.string(),
  topic: z.string(),
  key: z.string().nullable(),
  value: z.string(),
  /** `created_at` in ms since the epoch. */
  created: z.string(),
});
type OutboxRow = z.infer<typeof OutboxRow>;

const LockAnswer = z.object({ held: z.boolean() });
const CountAnswer = z.object({ n: z.number() });

function keyOf(value: unknown): string | null {
  if (typeof value === 'object' && value !== null && 'customerId' in value && typeof value.customerId === 'string') return value.customerId;
  return null;
}

/** Rows grouped by topic, each topic's records in id order. */
function topicMessages(rows: OutboxRow[], stamped: boolean): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const row of rows) {
    const messages = byTopic.get(row.topic) ?? [];
    messages.push(stamped ? { key: row.key, value: row.value, timestamp: row.created } : { key: row.key, value: row.value });
    byTopic.set(row.topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * The relay's lease: a session advisory lock on a connection of its own (not the pool's), so one
 * relay per schema publishes at a time. A relay that dies loses its connection and the lock with
 * it; the leader listens there for the commits that enqueued.
 */
class RelayLease {
  private client: pg.Client | undefined;
  private lost = false;
  private leader = false;

  private readonly config: pg.ClientConfig;
  private readonly lockName: string;
  private readonly channel: string;
  private readonly onNotify: () => void;

  constructor(config: pg.ClientConfig, lockName: string, channel: string, onNotify: () => void) {
    this.config = config;
    this.lockName = lockName;
    this.channel = channel;
    this.onNotify = onNotify;
  }

  /** Whether this relay holds the lease, checked on the connection itself; throws when the database does not answer. */
  async held(): Promise<boolean> {
    if (this.client !== undefined && this.lost) await this.release();
    if (this.client === undefined) {
      const client = new pg.Client(this.config);
      // A lost connection surfaces here instead of as an uncaught error; the lease goes with it.
      const lose = (): void => {
        if (this.client === client) this.lost = true;
      };
      client.on('error', lose);
      client.on('end', lose);
      client.on('notification', () => this.onNotify());
      try {
        await client.connect();
      } catch (err) {
        void client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
      this.lost = false;
      this.leader = false;
    }
    const client = this.client;
    if (this.leader) {
      // The connection must still be alive for the lock to be ours.
      await client.query('SELECT 1');
      return true;
    }
    const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [this.lockName]);
    this.leader = LockAnswer.parse(rows[0]).held;
    if (this.leader) await client.query(`LISTEN "${this.channel}"`);
    return this.leader;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.leader = false;
    // Ending the session releases the lock.
    if (client !== undefined) await client.end().catch(() => undefined);
  }
}

export function createOutbox(opts: OutboxOptions): Outbox {
  const { pool, kafka, schema, prefix, logger } = opts;
  if (!schemaName.test(schema)) throw new Error(`outbox schema "${schema}" is not a plain lowercase identifier`);
  const now = opts.now ?? (() => new Date());
  const pollMs = opts.pollMs ?? 1_000;
  const batchSize = opts.batchSize ?? 500;
  const maxBatchBytes = opts.maxBatchBytes ?? 900_000;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 3_000;
  const vacuumAfterRows = opts.vacuumAfterRows ?? 10_000;
  const table = `"${schema}".outbox`;
  const channel = `lifecycle_outbox_${schema}`;
  const log = logger.child({ component: 'outbox' });

  let producer: Producer | undefined;
  let connected = false;
  let stopped = true;
  let loop: Promise<void> | undefined;
  /** A wake that came while the relay was busy: the next wait returns at once. */
  let woken = false;
  let interrupt: (() => void) | undefined;
  /** `drained` callers the relay has not answered yet. */
  let drainWaiters: (() => void)[] = [];

  const wake = (): void => {
    woken = true;
    interrupt?.();
  };

  const lease = new RelayLease({ ...pool.options }, `lifecycle-outbox:${schema}`, channel, wake);

  /** Waits `ms`, or less when woken (unless `ignoreWake`, for a back-off). */
  const pause = (ms: number, ignoreWake = false): Promise<void> =>
    new Promise((resolve) => {
      if (stopped || (!ignoreWake && woken)) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        interrupt = undefined;
        resolve();
      }
      interrupt = ignoreWake ? () => (stopped ? done() : undefined) : done;
    });

  const connectedProducer = async (): Promise<Producer> => {
    if (stopped) throw new Error('outbox relay stopped');
    // Idempotent, all replicas acknowledging, one request in flight: a retried request neither
    // duplicates nor overtakes the one before it (kafkajs requires acks -1 for idempotence).
    // Bounded retries (kafkajs warns that this may invalidate its exactly-once guarantee): a send
    // that retried forever could not be stopped, since kafkajs reconnects a disconnected producer
    // from inside a retry. After a failed send the producer is replaced (see `resetProducer`).
    producer ??= kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 5 },
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    if (!connected) {
      await producer.connect();
      connected = true;
    }
    return producer;
  };

  /**
   * A send that failed may have been written all the same; the producer's sequence numbers no
   * longer say so, and the next batch, composed anew, could be refused as out of sequence. A new
   * producer (a new producer id) starts clean; what it publishes again carries the same ids.
   */
  const resetProducer = (): void => {
    const old = producer;
    producer = undefined;
    connected = false;
    if (old !== undefined) void old.disconnect().catch(() => undefined);
  };

  /**
   * Deletes the rows just published and reads the next ones in id order, in one round trip (the
   * relay's pace is set by its round trips). The read sees the table as it was before the
   * statement's own delete, so it leaves those rows out by id. By id, never by range: a lower id
   * may belong to a transaction that commits later.
   */
  const deleteAndRead = async (publishedIds: string[]): Promise<OutboxRow[]> => {
    // Ordered by the bigint column, not by the text it is selected as.
    const { rows } = await pool.query(
      `WITH published AS (DELETE FROM ${table} WHERE id = ANY($1::bigint[]))
       SELECT o.id::text AS id, o.topic, o.key, o.value, (extract(epoch FROM o.created_at) * 1000)::bigint::text AS created FROM ${table} o WHERE o.id <> ALL($1::bigint[]) ORDER BY o.id LIMIT $2`,
      [publishedIds, batchSize],
    );
    return rows.map((row) => OutboxRow.parse(row));
  };

  /** Publishes the longest prefix of `rows` within `maxBatchBytes` (at least one row); resolves to the rows published. */
  const publishPrefix = async (rows: OutboxRow[]): Promise<OutboxRow[]> => {
    let bytes = 0;
    let end = 0;
    while (end < rows.length) {
      bytes += Buffer.byteLength(rows[end]?.value ?? '');
      if (end > 0 && bytes > maxBatchBytes) break;
      end++;
    }
    const batch = end === rows.length ? rows : rows.slice(0, end);
    const out = await connectedProducer();
    try {
      await out.sendBatch({ topicMessages: topicMessages(batch, opts.stampWithClock === true), acks: -1 });
    } catch (err) {
      resetProducer();
      throw err;
    }
    return batch;
  };

  let deletedSinceVacuum = 0;
  /**
   * Vacuums the outbox once enough rows were deleted since the last time: their space is reused
   * and reads skip them. SKIP_LOCKED: an autovacuum already at it is enough. A failure (a role
   * that does not own the table gets a warning, not an error) never stops the relay.
   */
  const vacuumIfDue = async (deleted: number): Promise<void> => {
    deletedSinceVacuum += deleted;
    if (vacuumAfterRows <= 0 || deletedSinceVacuum < vacuumAfterRows) return;
    deletedSinceVacuum = 0;
    const began = Date.now();
    try {
      await pool.query(`VACUUM (SKIP_LOCKED) ${table}`);
      log.debug({ ms: Date.now() - began }, 'outbox vacuumed');
    } catch (err) {
      log.warn({ err }, 'outbox could not be vacuumed; publishing goes on');
    }
  };

  /** Publishes until the outbox is found empty (or the relay stops); resolves to how many rows went out. */
  const relayAll = async (): Promise<number> => {
    let published = 0;
    let rows = await deleteAndRead([]);
    while (rows.length > 0) {
      const batch = await publishPrefix(rows);
      published += batch.length;
      const ids = batch.map((r) => r.id);
      if (stopped) {
        await pool.query(`DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, [ids]);
        break;
      }
      rows = await deleteAndRead(ids);
      await vacuumIfDue(ids.length);
    }
    return published;
  };

  const takeDrainWaiters = (): (() => void)[] => {
    const waiters = drainWaiters;
    drainWaiters = [];
    return waiters;
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      // Those asking before this pass are answered by its end, when it found the outbox empty.
      const waiting = takeDrainWaiters();
      try {
        woken = false;
        if (!(await lease.held())) {
          // Another replica relays: the outbox being empty is the answer.
          if (waiting.length > 0 && (await backlog()) > 0) drainWaiters.unshift(...waiting);
          else for (const resolve of waiting) resolve();
          failures = 0;
          await pause(pollMs);
          continue;
        }
        const published = await relayAll();
        if (failures > 0) log.info({ published }, 'outbox relay publishing again');
        failures = 0;
        for (const resolve of waiting) resolve();
        await pause(pollMs);
      } catch (err) {
        drainWaiters.unshift(...waiting);
        failures++;
        const backoffMs = Math.min(maxBackoffMs, 200 * 2 ** Math.min(failures - 1, 10));
        // Kafka or the database is down: the rows wait, nothing is lost; try again later.
        if (failures === 1 || failures % 10 === 0) log.warn({ err, failures, backoffMs }, 'outbox relay cannot publish, rows kept for the next try');
        await pause(backoffMs, true);
      }
    }
  };

  const backlog = async (): Promise<number> => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
    return CountAnswer.parse(rows[0]).n;
  };

  return {
    enqueue: async (tx, key, values) => {
      if (values.length === 0) return;
      const topic = topicName(prefix, key);
      const keys = values.map(keyOf);
      // The values as one JSON array, its elements' text kept as written (the json type, not
      // jsonb): one serialization, no text[] literal that escapes every quote of every value again.
      const texts = JSON.stringify(values);
      // One statement: the rows in array order (their ids in that order), and a notification the
      // database delivers to the relay only if the transaction commits.
      await tx.execute(sql`
        WITH inserted AS (
          INSERT INTO ${sql.raw(table)} (topic, key, value, created_at)
          SELECT ${topic}, r.key, r.value::text, ${now().toISOString()}::timestamptz
          FROM ROWS FROM (unnest(${sql.param(keys)}::text[]), json_array_elements(${texts}::json)) WITH ORDINALITY AS r(key, value, n)
          ORDER BY r.n
          RETURNING 1)
        SELECT pg_notify(${channel}, '') WHERE EXISTS (SELECT 1 FROM inserted)`);
    },
    start: () => {
      if (!stopped) return;
      stopped = false;
      loop = run();
    },
    wake,
    drained: () =>
      new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        wake();
      }),
    backlog,
    stop: async () => {
      if (stopped) return;
      const deadline = Date.now() + stopTimeoutMs;
      const within = <T>(work: Promise<T>): Promise<T | 'late'> => {
        let timer: NodeJS.Timeout | undefined;
        return Promise.race([work, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()))))]).finally(() => clearTimeout(timer));
      };
      // What the last transactions enqueued goes out now rather than at the next start.
      const drainedInTime = await within(new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        wake();
      }));
      stopped = true;
      interrupt?.();
      const finished = loop ?? Promise.resolve();
      if (drainedInTime === 'late' || (await within(finished)) === 'late') {
        log.warn({ stopTimeoutMs }, 'outbox relay stopped before the outbox was empty; the rest is published by another replica or on the next start');
      }
      // Disconnecting ends a publish still retrying against a broker that does not answer.
      if (producer !== undefined) await producer.disconnect().catch(() => undefined);
      connected = false;
      producer = undefined;
      // A statement hung on a database that does not answer must not hold up the shutdown.
      await Promise.race([finished.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      await lease.release();
      for (const resolve of takeDrainWaiters()) resolve();
    },
  };
}
