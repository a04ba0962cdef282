import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import { firstMigrations } from '@lifecycle/tools/service-schemas';
import { unusedDatabaseUrl } from '@lifecycle/tools/test-kit';
import { createPool, ensureDatabase, runMigrations, type Pool } from '../src/index.ts';
import { migrationsFolder } from './kit-harness.ts';

/** The fixture's two migrations: 0000 creates the schema and `handled`, 0001 adds `outbox`. */
const journalTimes = [1795426353738, 1798018353739];
const schema = 'kit_test';

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

async function freshDatabase(): Promise<{ url: string; pool: Pool }> {
  const url = unusedDatabaseUrl();
  await ensureDatabase(url);
  const pool = createPool(url, 2);
  pools.push(pool);
  return { url, pool };
}

/** As every service did before: drizzle's migrator, its bookkeeping in the shared `drizzle` schema. */
async function migrateTheOldWay(url: string, folder: string): Promise<void> {
  const pool = createPool(url, 1);
  try {
    await migrate(drizzle({ client: pool }), { migrationsFolder: folder, migrationsSchema: 'drizzle', migrationsTable: `${schema}_migrations` });
  } finally {
    await pool.end();
  }
}

const recorded = async (pool: Pool, table: string): Promise<number[]> => (await pool.query<{ created_at: string }>(`SELECT created_at FROM ${table} ORDER BY id`)).rows.map((r) => Number(r.created_at));

describe('runMigrations', () => {
  it('records the migrations in the service’s own schema and creates no other schema', async () => {
    const { url, pool } = await freshDatabase();
    expect(await runMigrations(url, { schema, migrationsFolder })).toEqual({ applied: 2, adopted: 0 });
    expect(await recorded(pool, 'kit_test.__drizzle_migrations')).toEqual(journalTimes);
    const schemas = await pool.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname IN ('kit_test', 'drizzle') ORDER BY 1");
    expect(schemas.rows.map((r) => r.nspname)).toEqual(['kit_test']);
    expect(await runMigrations(url, { schema, migrationsFolder })).toEqual({ applied: 0, adopted: 0 });
  });

  it('takes over the record of a database migrated the old way and runs only the migrations it lacks', async () => {
    const { url, pool } = await freshDatabase();
    await migrateTheOldWay(url, await firstMigrations(migrationsFolder, 1));
    await pool.query("INSERT INTO kit_test.handled VALUES ('kept', 'c-1', 0, 7)");

    expect(await runMigrations(url, { schema, migrationsFolder })).toEqual({ applied: 1, adopted: 1 });

    // 0000 ran once: its table still holds the row written before the upgrade.
    expect((await pool.query('SELECT id FROM kit_test.handled')).rows).toEqual([{ id: 'kept' }]);
    expect((await pool.query('SELECT count(*)::int AS n FROM kit_test.outbox')).rows).toEqual([{ n: 0 }]);
    expect(await recorded(pool, 'kit_test.__drizzle_migrations')).toEqual(journalTimes);
    // The old record is left as it was.
    expect(await recorded(pool, 'drizzle.kit_test_migrations')).toEqual(journalTimes.slice(0, 1));
    expect(await runMigrations(url, { schema, migrationsFolder })).toEqual({ applied: 0, adopted: 0 });
  });

  it('builds the schema again when it was dropped, ignoring the old record of what it held', async () => {
    const { url, pool } = await freshDatabase();
    await migrateTheOldWay(url, migrationsFolder);
    // What the classifier's rebuild does: drop the schema, leaving the old record behind on such a database.
    await pool.query('DROP SCHEMA kit_test CASCADE');

    expect(await runMigrations(url, { schema, migrationsFolder })).toEqual({ applied: 2, adopted: 0 });
    expect((await pool.query('SELECT count(*)::int AS n FROM kit_test.handled')).rows).toEqual([{ n: 0 }]);
    expect(await recorded(pool, 'kit_test.__drizzle_migrations')).toEqual(journalTimes);
  });

  it('renames a schema from a name it had before, keeping its rows and what it recorded', async () => {
    const { url, pool } = await freshDatabase();
    await runMigrations(url, { schema, migrationsFolder });
    await pool.query("INSERT INTO kit_test.handled VALUES ('kept', 'c-1', 0, 7)");

    expect(await runMigrations(url, { schema: 'kit_renamed', migrationsFolder, previousNames: ['kit_test'] })).toEqual({ applied: 0, adopted: 0 });

    expect((await pool.query('SELECT id FROM kit_renamed.handled')).rows).toEqual([{ id: 'kept' }]);
    expect(await recorded(pool, 'kit_renamed.__drizzle_migrations')).toEqual(journalTimes);
    expect((await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = 'kit_test'")).rowCount).toBe(0);
    // Once renamed, the previous name is not looked at again.
    expect(await runMigrations(url, { schema: 'kit_renamed', migrationsFolder, previousNames: ['kit_test'] })).toEqual({ applied: 0, adopted: 0 });
  });

  it('renames a schema migrated the old way and takes over its record under the previous name', async () => {
    const { url, pool } = await freshDatabase();
    await migrateTheOldWay(url, migrationsFolder);

    expect(await runMigrations(url, { schema: 'kit_renamed', migrationsFolder, previousNames: ['kit_test'] })).toEqual({ applied: 0, adopted: 2 });
    expect(await recorded(pool, 'kit_renamed.__drizzle_migrations')).toEqual(journalTimes);
    expect((await pool.query('SELECT count(*)::int AS n FROM kit_renamed.outbox')).rows).toEqual([{ n: 0 }]);
  });

  it('lets replicas start together on a database that does not exist yet: each migration runs once', async () => {
    const url = unusedDatabaseUrl();
    const replicas = await Promise.allSettled(
      Array.from({ length: 6 }, async () => {
        await ensureDatabase(url);
        return runMigrations(url, { schema, migrationsFolder });
      }),
    );
    expect(replicas.filter((r) => r.status === 'rejected')).toEqual([]);
    const reports = replicas.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(reports.reduce((sum, r) => sum + r.applied, 0)).toBe(2);
    const pool = createPool(url, 1);
    pools.push(pool);
    expect(await recorded(pool, 'kit_test.__drizzle_migrations')).toEqual(journalTimes);
  });

  it('records nothing when a migration fails (here: a schema it did not create is in the way)', async () => {
    const { url, pool } = await freshDatabase();
    await pool.query('CREATE SCHEMA kit_test');
    await expect(runMigrations(url, { schema, migrationsFolder })).rejects.toThrow(/already exists/);
    const left = await pool.query<{ found: string | null }>("SELECT to_regclass('kit_test.__drizzle_migrations') AS found");
    expect(left.rows).toEqual([{ found: null }]);
  });
});
