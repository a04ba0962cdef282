import { connect, type Socket } from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collectTopic, createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { createOutbox, createPool, inTransaction, runMigrations, type Outbox, type Pool } from '../src/index.ts';
import { captureLogger, migrationsFolder, timerFired, type LogLine } from './kit-harness.ts';

let infra: TestInfra;
let pool: Pool;
let topic: Awaited<ReturnType<typeof collectTopic>>;
let logLines: LogLine[];
let logger: ReturnType<typeof captureLogger>['logger'];
const outboxes: Outbox[] = [];

const Published = z.object({ id: z.string(), customerId: z.string() });

/** What a downstream consumer of the topic has seen, in topic order. */
const seen = (): { id: string; key: string | null; customerId: string }[] => topic.records.map((r) => ({ key: r.key, ...Published.parse(JSON.parse(r.value)) }));

/**
 * A Kafka client the test can cut off from the real broker: every connection it opens is
 * dropped, and new ones fail, until restored.
 */
function cuttableKafka(brokers: string[]): { kafka: Kafka; cut: () => void; restore: () => void; refused: () => number } {
  const sockets = new Set<Socket>();
  let down = false;
  let refused = 0;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = connect({ host, port }, onConnect);
    if (down) {
      refused++;
      socket.destroy(new Error('connection refused: Kafka cut by the test'));
      return socket;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    return socket;
  };
  return {
    kafka: new Kafka({ clientId: 'outbox-test', brokers, socketFactory, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 5 } }),
    cut: () => {
      down = true;
      // With an error, as a reset connection reports itself: the client notices at once.
      for (const socket of sockets) socket.destroy(new Error('connection reset: Kafka cut by the test'));
      sockets.clear();
    },
    restore: () => {
      down = false;
    },
    refused: () => refused,
  };
}

function outbox(kafka: Kafka, opts: { pool?: Pool; now?: () => Date; stampWithClock?: boolean; vacuumAfterRows?: number } = {}): Outbox {
  const { pool: own, ...clock } = opts;
  const created = createOutbox({ pool: own ?? pool, kafka, schema: 'kit_test', prefix: infra.prefix, logger, pollMs: 200, maxBackoffMs: 500, ...clock });
  outboxes.push(created);
  return created;
}

/** Commits one transaction that enqueues the records. */
async function commit(box: Outbox, values: ReturnType<typeof timerFired>[]): Promise<void> {
  await inTransaction(pool, async (tx) => {
    await box.enqueue(tx, 'timersFired', values);
  });
}

const rows = async (): Promise<number> => Number((await pool.query('select count(*)::int as n from kit_test.outbox')).rows[0]?.n);

beforeAll(async () => {
  infra = await createTestInfra();
  pool = createPool(infra.databaseUrl, 4);
  await runMigrations(infra.databaseUrl, { schema: 'kit_test', migrationsFolder });
  ({ logger, lines: logLines } = captureLogger());
  topic = await collectTopic(infra, 'timersFired');
});

afterEach(async () => {
  await Promise.all(outboxes.splice(0).map((o) => o.stop()));
});

afterAll(async () => {
  await topic?.stop();
  await pool?.end();
});

describe('the transactional outbox', () => {
  it('publishes a committed transaction’s records once, keyed by customer and in order, and deletes them', async () => {
    const box = outbox(infra.kafka);
    box.start();
    const values = [timerFired('commit-1', 'commit-a'), timerFired('commit-2', 'commit-b'), timerFired('commit-3', 'commit-a')];
    await commit(box, values);
    await eventually(() => expect(seen().filter((r) => r.id.startsWith('commit-'))).toHaveLength(3));
    await box.drained();
    const mine = seen().filter((r) => r.id.startsWith('commit-'));
    expect(mine.map((r) => r.id).toSorted()).toEqual(['commit-1', 'commit-2', 'commit-3']);
    expect(mine.filter((r) => r.key === 'commit-a').map((r) => r.id)).toEqual(['commit-1', 'commit-3']);
    expect(mine.every((r) => r.key === r.customerId)).toBe(true);
    expect(await rows()).toBe(0);
  });

  it('publishes each record’s JSON exactly as serialized, and a transaction larger than the broker takes in one request in several, in order', { timeout: 60_000 }, async () => {
    const box = outbox(infra.kafka);
    box.start();
    // Three records of 450 kB for one customer: together past the broker's default limit on one
    // partition's record batch (1 MiB), so they cannot go out in one produce request.
    const text = `é \u0000 \ud800 "quoted" \\ ${'x'.repeat(450_000)}`;
    const values = [0, 1, 2].map((i) => timerFired(`large-${i}`, 'large-a', { text, i }));
    await commit(box, values);
    await eventually(() => expect(seen().filter((r) => r.id.startsWith('large-'))).toHaveLength(3), 30_000);
    await box.drained();
    const out = topic.records.filter((r) => r.key === 'large-a');
    expect(out.map((r) => r.value)).toEqual(values.map((v) => JSON.stringify(v)));
    expect(await rows()).toBe(0);
  });

  it('stamps records with the service clock when asked (a simulated time), and with the time of publishing otherwise', async () => {
    // Relative to now: nothing here depends on the date the test runs.
    const simulated = new Date(Date.now() - 400 * 86_400_000);
    const stamped = outbox(infra.kafka, { now: () => simulated, stampWithClock: true });
    stamped.start();
    await commit(stamped, [timerFired('stamp-sim', 'stamp-a')]);
    await stamped.drained();
    await stamped.stop();
    const before = Date.now();
    const plain = outbox(infra.kafka, { now: () => simulated });
    plain.start();
    await commit(plain, [timerFired('stamp-wall', 'stamp-a')]);
    await eventually(() => expect(seen().filter((r) => r.id.startsWith('stamp-'))).toHaveLength(2));
    const at = (id: string) => topic.records.find((r) => r.value.includes(`"${id}"`))?.timestamp;
    expect(at('stamp-sim')).toBe(simulated.getTime());
    expect(at('stamp-wall')).toBeGreaterThanOrEqual(before);
  });

  it('leaves nothing on the topic when the transaction that enqueued rolls back', async () => {
    const box = outbox(infra.kafka);
    box.start();
    await expect(
      inTransaction(pool, async (tx) => {
        await box.enqueue(tx, 'timersFired', [timerFired('rollback-1', 'rollback-a')]);
        throw new Error('the decision failed after enqueueing');
      }),
    ).rejects.toThrow('the decision failed after enqueueing');
    // A later committed record of the same customer: once it is out, the relay has looked past the rolled-back one.
    await commit(box, [timerFired('rollback-2', 'rollback-a')]);
    await eventually(() => expect(seen().map((r) => r.id)).toContain('rollback-2'));
    await box.drained();
    expect(seen().filter((r) => r.id.startsWith('rollback-')).map((r) => r.id)).toEqual(['rollback-2']);
    expect(await rows()).toBe(0);
  });

  it('keeps records while Kafka is down, without holding up the transactions that enqueue, and publishes them once and in order per key when it is back', { timeout: 120_000 }, async () => {
    const link = cuttableKafka(infra.brokers);
    const box = outbox(link.kafka);
    box.start();
    await commit(box, [timerFired('down-warm', 'down-a')]);
    await eventually(() => expect(seen().map((r) => r.id)).toContain('down-warm'));

    link.cut();
    const values = Array.from({ length: 40 }, (_, i) => timerFired(`down-${String(i).padStart(2, '0')}`, `down-${'abcd'[i % 4]}`));
    // Ten transactions commit while the relay cannot publish: none of them waits for Kafka.
    for (let i = 0; i < values.length; i += 4) {
      const began = Date.now();
      await commit(box, values.slice(i, i + 4));
      expect(Date.now() - began).toBeLessThan(2_000);
    }
    // The relay did try: it reached for the broker and was refused, and the rows wait.
    await eventually(() => expect(link.refused()).toBeGreaterThan(2), 30_000);
    expect(await rows()).toBe(40);
    expect(seen().filter((r) => values.some((v) => v.id === r.id))).toEqual([]);

    link.restore();
    await eventually(() => expect(new Set(seen().filter((r) => values.some((v) => v.id === r.id)).map((r) => r.id)).size).toBe(40), 90_000);
    await box.drained();
    const out = seen().filter((r) => values.some((v) => v.id === r.id));
    expect(out).toHaveLength(40);
    for (const key of ['down-a', 'down-b', 'down-c', 'down-d']) {
      expect(out.filter((r) => r.key === key).map((r) => r.id)).toEqual(values.filter((v) => v.customerId === key).map((v) => v.id));
    }
    expect(await rows()).toBe(0);
    expect(logLines.some((l) => l.msg === 'outbox relay cannot publish, rows kept for the next try') || link.refused() > 0).toBe(true);
  });

  it('publishes each record once and in order per key with two relays (replicas) on one outbox, and the survivor takes over when one stops', { timeout: 90_000 }, async () => {
    const otherPool = createPool(infra.databaseUrl, 4);
    try {
      const first = outbox(infra.kafka);
      const second = outbox(infra.kafka, { pool: otherPool });
      first.start();
      second.start();
      const values = Array.from({ length: 200 }, (_, i) => timerFired(`replica-${String(i).padStart(3, '0')}`, `replica-${i % 5}`));
      // Twenty transactions, alternating between the replicas' pools as two instances of a service would.
      for (let i = 0; i < values.length; i += 10) {
        const box = i % 20 === 0 ? first : second;
        await inTransaction(i % 20 === 0 ? pool : otherPool, (tx) => box.enqueue(tx, 'timersFired', values.slice(i, i + 10)));
        box.wake();
      }
      await eventually(() => expect(seen().filter((r) => r.id.startsWith('replica-'))).toHaveLength(200), 30_000);
      await Promise.all([first.drained(), second.drained()]);
      const out = seen().filter((r) => r.id.startsWith('replica-'));
      expect(new Set(out.map((r) => r.id)).size).toBe(200);
      for (let k = 0; k < 5; k++) {
        expect(out.filter((r) => r.key === `replica-${k}`).map((r) => r.id)).toEqual(values.filter((v) => v.customerId === `replica-${k}`).map((v) => v.id));
      }

      await first.stop();
      await commit(second, [timerFired('replica-after', 'replica-0')]);
      await eventually(() => expect(seen().map((r) => r.id)).toContain('replica-after'), 30_000);
      expect(seen().filter((r) => r.id.startsWith('replica-'))).toHaveLength(201);
    } finally {
      await Promise.all(outboxes.splice(0).map((o) => o.stop()));
      await otherPool.end();
    }
  });
  it('vacuums its own table as it goes, so a relay with no autovacuum behind it keeps the outbox small', { timeout: 60_000 }, async () => {
    const box = outbox(infra.kafka, { vacuumAfterRows: 1_000 });
    box.start();
    // 12 transactions of 500 records of about 1 kB: 6 MB through a table that holds 500 at a time.
    const text = 'v'.repeat(1_000);
    for (let round = 0; round < 12; round++) {
      await commit(
        box,
        Array.from({ length: 500 }, (_, i) => timerFired(`vacuum-${round}-${i}`, `vacuum-${i % 7}`, { text })),
      );
      await box.drained();
    }
    await eventually(() => expect(seen().filter((r) => r.id.startsWith('vacuum-'))).toHaveLength(6_000), 30_000);
    expect(await rows()).toBe(0);
    // Unvacuumed, every record's row would still take its space: 6,000 rows of 1 kB, over 700
    // pages of 8 kB. Vacuumed after every 1,000, the space is reused: a few hundred pages at most.
    const { rows: size } = await pool.query<{ pages: string }>(`select pg_relation_size('kit_test.outbox') / 8192 as pages`);
    expect(Number(size[0]?.pages)).toBeLessThan(350);
  });
});
