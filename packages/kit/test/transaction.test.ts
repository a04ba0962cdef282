import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '@lifecycle/tools/tcp-proxy';
import { createTestInfra, eventually, type TestInfra } from '@lifecycle/tools/test-kit';
import { createPool, inTransaction, runMigrations, type Pool } from '../src/index.ts';
import { migrationsFolder, storedIds } from './kit-harness.ts';

let infra: TestInfra;
let proxy: TcpProxy;
/** Straight to the server: the test's own view of what was committed. */
let direct: Pool;
/** Through the proxy, with one connection: a connection the kit failed to give back would leave it with none. */
let pool: Pool;
const idleConnectionErrors: unknown[] = [];
const uncaught: unknown[] = [];
const recordUncaught = (err: unknown): void => void uncaught.push(err);

beforeAll(async () => {
  infra = await createTestInfra();
  direct = createPool(infra.databaseUrl, 2);
  await runMigrations(infra.databaseUrl, { schema: 'kit_test', migrationsFolder });
  const database = new URL(infra.databaseUrl);
  proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
  database.port = String(proxy.port);
  pool = createPool(database.toString(), 1);
  // As openRuntime does: an idle connection lost in an outage is reported, not thrown.
  pool.on('error', (err) => idleConnectionErrors.push(err));
});

beforeEach(() => {
  uncaught.length = 0;
  process.on('uncaughtException', recordUncaught);
});

afterEach(async () => {
  process.removeListener('uncaughtException', recordUncaught);
  await proxy.restore();
});

afterAll(async () => {
  await pool?.end();
  await direct?.end();
  await proxy?.cut();
});

const insert = (id: string) => sql`insert into kit_test.handled (id, customer_id, source_partition, source_offset) values (${id}, ${'tx-customer'}, 0, 0)`;

/** Ids committed so far that start with `prefix`. */
async function committed(prefix: string): Promise<string[]> {
  return (await storedIds(direct, 'tx-')).filter((id) => id.startsWith(prefix));
}

/** Transactions this database's server still holds open, whoever holds them. */
async function openTransactions(): Promise<number> {
  const result = await direct.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'");
  const n: unknown = result.rows[0]?.n;
  return typeof n === 'number' ? n : Number.NaN;
}

describe('inTransaction', () => {
  it('commits the work and returns its result', async () => {
    const result = await inTransaction(pool, async (tx) => {
      await tx.execute(insert('commit-1'));
      await tx.execute(insert('commit-2'));
      return 'done';
    });

    expect(result).toBe('done');
    expect(await committed('commit-')).toEqual(['commit-1', 'commit-2']);
    await expect(inTransaction(pool, async () => 'again')).resolves.toBe('again');
  });

  it('rolls back all of the work when it throws, and rethrows that error', async () => {
    const failure = new Error('the second half of the work failed');

    const outcome = inTransaction(pool, async (tx) => {
      await tx.execute(insert('rollback-1'));
      await tx.execute(insert('rollback-2'));
      throw failure;
    });

    await expect(outcome).rejects.toBe(failure);
    expect(await committed('rollback-')).toEqual([]);
    expect(await openTransactions()).toBe(0);
    // The pool's one connection came back (or was replaced): the next transaction runs.
    await expect(inTransaction(pool, (tx) => tx.execute(insert('rollback-after')).then(() => 'ran'))).resolves.toBe('ran');
    expect(uncaught).toEqual([]);
  });

  it('fails the next statement when the connection is lost mid-transaction, without crashing the process, and the pool recovers', async () => {
    const lost = proxy.cutAfterReplyTo("insert into kit_test.handled (id, customer_id, source_partition, source_offset) values ($1, $2, 0, 0)");

    const outcome = inTransaction(pool, async (tx) => {
      await tx.execute(insert('lost-1'));
      // Between statements, as while the work waits for Kafka: the link drops and the server
      // ends the transaction. The client hears of it while no statement is running.
      await lost;
      await eventually(async () => expect(await openTransactions()).toBe(0));
      await tx.execute(insert('lost-2'));
      return 'should not commit';
    });

    await expect(outcome).rejects.toThrow(Error);
    expect(uncaught).toEqual([]);
    expect(await committed('lost-')).toEqual([]);

    await proxy.restore();
    await expect(inTransaction(pool, (tx) => tx.execute(insert('lost-after')).then(() => 'ran'))).resolves.toBe('ran');
    expect(await committed('lost-')).toEqual(['lost-after']);
    expect(pool.totalCount).toBe(pool.idleCount);
    expect(uncaught).toEqual([]);
  });

  it('fails with an error while the database is unreachable, and works again once it is back', async () => {
    await proxy.cut();

    await expect(inTransaction(pool, (tx) => tx.execute(insert('down-1')))).rejects.toThrow(Error);

    await proxy.restore();
    await expect(inTransaction(pool, (tx) => tx.execute(insert('down-2')).then(() => 'ran'))).resolves.toBe('ran');
    expect(await committed('down-')).toEqual(['down-2']);
    expect(pool.totalCount).toBe(pool.idleCount);
    expect(uncaught).toEqual([]);
  });
});
