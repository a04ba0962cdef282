import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { readMigrationFiles } from 'drizzle-orm/migrator';

export type Pool = pg.Pool;
export type Database = NodePgDatabase;

/**
 * A pool whose connections notice a dead network: TCP keep-alive, and a statement that gets no
 * answer in two minutes fails (a silently dropped link would otherwise stall a consumer instead
 * of letting it pause as in any outage). Two minutes leaves room for bulk statements.
 */
export function createPool(url: string, max = 10): pg.Pool {
  return new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000, keepAlive: true, query_timeout: 120_000 });
}

export function createDatabase(pool: pg.Pool): Database {
  return drizzle({ client: pool });
}

/** Creates the database named in the URL if the server does not have it yet. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== 0) return false;
    try {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    } catch (err) {
      // Another process created it between our check and our CREATE: 42P04, or 23505 when both
      // passed PostgreSQL's own check and met at the catalog's unique index.
      if (err instanceof Error && 'code' in err && (err.code === '42P04' || err.code === '23505')) return false;
      throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** The bookkeeping table in each service's schema, laid out as drizzle's migrator lays it out. */
export const migrationsTable = '__drizzle_migrations';

/** What `runMigrations` did: migrations it ran, and rows it took over from the old bookkeeping. */
export interface MigrationReport {
  applied: number;
  adopted: number;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Applies a service's committed drizzle-kit migrations and records them in the service's own
 * schema (`<schema>.__drizzle_migrations`), so services never share a bookkeeping schema whose
 * creation they would race for. Runs on a connection of its own (no statement deadline: a
 * migration may rewrite a large table) holding an advisory lock keyed by the schema, so replicas
 * starting together apply each migration once; the others wait and then find nothing to do.
 *
 * As drizzle's migrator does, it runs every migration newer than the last one recorded, all in
 * one transaction. It does not call that migrator: drizzle-kit's first migration is
 * `CREATE SCHEMA "<schema>"`, which fails when the migrator has already created the schema to
 * hold its table. Here the table is created inside the transaction, after the migration that
 * created the schema.
 *
 * Databases migrated before kept the bookkeeping in `drizzle.<schema>_migrations`; when the
 * service's schema exists and its own table has no rows yet, those rows are copied over in the
 * same locked transaction, so nothing applied then is applied again. The old table is left as it
 * was (nothing reads it any more).
 *
 * `previousNames`: names the schema had before (a rename to match its service). When the schema
 * does not exist and one of those does, that one is renamed first, under the same lock, and
 * migrations are counted from what it recorded. The committed migration files use the new name.
 */
export async function runMigrations(databaseUrl: string, opts: { schema: string; migrationsFolder: string; previousNames?: readonly string[] }): Promise<MigrationReport> {
  const migrations = readMigrationFiles({ migrationsFolder: opts.migrationsFolder });
  const schema = quoteIdent(opts.schema);
  const table = `${schema}.${quoteIdent(migrationsTable)}`;
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
  // A lost connection also fails the query in flight, which is what reports it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Released when the connection ends, even if this process dies mid-way.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`lifecycle-migrations:${opts.schema}`]);
    await client.query('BEGIN');
    try {
      const createTable = `CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`;
      const exists = async (relation: string): Promise<boolean> => (await client.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [relation])).rows[0]?.found != null;
      const latest = async (): Promise<number | null> => {
        const row = (await client.query<{ last: string | null }>(`SELECT max(created_at) AS last FROM ${table}`)).rows[0];
        return row?.last == null ? null : Number(row.last);
      };
      let tableReady = await exists(table);
      let last = tableReady ? await latest() : null;

      const hasSchema = async (name: string): Promise<boolean> => (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).rowCount !== 0;
      let schemaExists = await hasSchema(opts.schema);
      // A schema renamed to match its service: its tables, and the bookkeeping inside it, move with it.
      let recordedAs = opts.schema;
      for (const previous of schemaExists ? [] : (opts.previousNames ?? [])) {
        if (!(await hasSchema(previous))) continue;
        await client.query(`ALTER SCHEMA ${quoteIdent(previous)} RENAME TO ${schema}`);
        schemaExists = true;
        recordedAs = previous;
        tableReady = await exists(table);
        last = tableReady ? await latest() : null;
        break;
      }

      let adopted = 0;
      const legacy = `drizzle.${quoteIdent(`${recordedAs}_migrations`)}`;
      // Without the schema (the classifier's rebuild drops it) the old rows describe tables that are gone.
      if (last === null && schemaExists && (await exists(legacy))) {
        await client.query(createTable);
        tableReady = true;
        adopted = (await client.query(`INSERT INTO ${table} (hash, created_at) SELECT hash, created_at FROM ${legacy} ORDER BY id`)).rowCount ?? 0;
        last = await latest();
      }

      let applied = 0;
      for (const migration of migrations) {
        if (last !== null && migration.folderMillis <= last) continue;
        for (const statement of migration.sql) {
          if (statement.trim() !== '') await client.query(statement);
        }
        if (!tableReady) {
          await client.query(createTable);
          tableReady = true;
        }
        await client.query(`INSERT INTO ${table} (hash, created_at) VALUES ($1, $2)`, [migration.hash, migration.folderMillis]);
        applied += 1;
      }
      await client.query('COMMIT');
      return { applied, adopted };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    await client.end();
  }
}

export async function databaseReachable(pool: pg.Pool): Promise<boolean> {
  // Answers in well under a second when the database is up; a hung link must not hang the check.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), 5_000);
    timer.unref();
  });
  const answered = pool.query('SELECT 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
