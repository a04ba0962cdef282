import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { DeadLetter, deadLetterTopicName, topicName, type TimerFired } from '@lifecycle/contracts';
import type { TestInfra } from '@lifecycle/tools/test-kit';
import { baseConfigShape, inTransaction, openRuntime, parseConfig, type ConsumedRecord, type Pool, type Producer, type Runtime, type Transaction } from '../src/index.ts';

/**
 * What the kit's integration tests share: a service-shaped runtime on the test infrastructure,
 * a handler effect that is a real database write, and views of the broker a downstream has
 * (what was handled, what was dead-lettered, where the group stands).
 */

/** One table, `kit_test.handled`: a record's effect, keyed by its id with no conflict clause, so a repeat fails loudly. */
export const migrationsFolder = join(import.meta.dirname, 'fixtures', 'drizzle');

export const LogLine = z.looseObject({
  level: z.number(),
  msg: z.string().optional(),
  partition: z.number().optional(),
  pauseMs: z.number().optional(),
});
export type LogLine = z.infer<typeof LogLine>;

/** A logger whose lines the test can read, as an operator would read them. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(LogLine.parse(JSON.parse(line))) });
  return { logger, lines };
}

/** The connections a service would have, on this file's database (or `databaseUrl`, e.g. through a proxy). */
export async function openTestRuntime(infra: TestInfra, opts: { logger: Logger; databaseUrl?: string }): Promise<Runtime> {
  const config = parseConfig(z.object(baseConfigShape), {
    KAFKA_BROKERS: infra.brokers.join(','),
    DATABASE_URL: opts.databaseUrl ?? infra.databaseUrl,
    TOPIC_PREFIX: infra.prefix,
  });
  return openRuntime({ service: 'kit-test', config, schema: 'kit_test', migrationsFolder, logger: opts.logger });
}

/** A valid `scheduler.timers.fired` record; the kit tests consume that topic because its contract is small. */
export function timerFired(id: string, customerId: string, data: Record<string, unknown> = {}): TimerFired {
  const now = new Date().toISOString();
  return { id, type: 'timer.fired', version: 1, occurredAt: now, customerId, causationId: `cause-${id}`, payload: { timerId: `timer-${id}`, owner: 'kit-test', fireAt: now, data } };
}

export interface Produced {
  partition: number;
  offset: string;
}

/** Produces one record and says where the broker put it. */
export async function produceOne(producer: Producer, infra: TestInfra, key: string, value: string | Buffer | null): Promise<Produced> {
  const [meta] = await producer.send({ topic: topicName(infra.prefix, 'timersFired'), messages: [{ key, value }] });
  if (meta?.baseOffset === undefined) throw new Error('the broker did not say where it put the record');
  return { partition: meta.partition, offset: meta.baseOffset };
}

export async function produceTimers(producer: Producer, infra: TestInfra, values: TimerFired[]): Promise<Produced[]> {
  const placed: Produced[] = [];
  for (const value of values) placed.push(await produceOne(producer, infra, value.customerId, JSON.stringify(value)));
  return placed;
}

/** The handler's effect: one row. */
export async function insertHandled(tx: Transaction, value: TimerFired, record: ConsumedRecord): Promise<void> {
  await tx.execute(sql`insert into kit_test.handled (id, customer_id, source_partition, source_offset) values (${value.id}, ${value.customerId}, ${record.partition}, ${record.offset})`);
}

/** The handler's effect in a transaction of its own. */
export async function recordHandled(pool: Pool, value: TimerFired, record: ConsumedRecord): Promise<void> {
  await inTransaction(pool, (tx) => insertHandled(tx, value, record));
}

/** The effect as a real service writes it: a repeat of a record already handled changes nothing. Resolves to whether it was new. */
export async function recordHandledOnce(pool: Pool, value: TimerFired, record: ConsumedRecord): Promise<boolean> {
  const result = await inTransaction(pool, (tx) =>
    tx.execute(
      sql`insert into kit_test.handled (id, customer_id, source_partition, source_offset) values (${value.id}, ${value.customerId}, ${record.partition}, ${record.offset}) on conflict (id) do nothing returning id`,
    ),
  );
  return result.rows.length === 1;
}

const HandledRow = z.object({ id: z.string() });

/** Ids whose effect is in the database, for customers whose id starts with `customerPrefix`. */
export async function storedIds(pool: Pool, customerPrefix: string): Promise<string[]> {
  const result = await pool.query('select id from kit_test.handled where starts_with(customer_id, $1) order by id', [customerPrefix]);
  return result.rows.map((row) => HandledRow.parse(row).id);
}

/** The group's committed offset per partition of the consumed topic (-1: none yet). */
export async function committedOffsets(infra: TestInfra, groupId: string): Promise<Map<number, string>> {
  const admin = infra.kafka.admin();
  await admin.connect();
  try {
    const topic = topicName(infra.prefix, 'timersFired');
    const [found] = await admin.fetchOffsets({ groupId: infra.prefix + groupId, topics: [topic] });
    return new Map((found?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** How many records the dead-letter topic of `timersFired` holds, read from the broker itself. */
export async function deadLetterCount(infra: TestInfra): Promise<number> {
  const admin = infra.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(deadLetterTopicName(infra.prefix, 'timersFired'));
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export function parseDeadLetter(value: string): DeadLetter {
  return DeadLetter.parse(JSON.parse(value));
}

/** A promise the test settles from outside: a handler waits on it to hold a record in hand. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
