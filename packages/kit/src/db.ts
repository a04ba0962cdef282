import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';

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
      // Another process created it between our check and our CREATE.
      if (err instanceof Error && 'code' in err && err.code === '42P04') return false;
      throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

/**
 * Applies a service's committed drizzle-kit migrations. Each service keeps its own bookkeeping
 * table (`drizzle.<schema>_migrations`): drizzle-kit's first migration creates the service's
 * schema, so the bookkeeping cannot live inside it. An advisory lock keeps replicas starting
 * together from racing.
 */
export async function runMigrations(pool: pg.Pool, opts: { schema: string; migrationsFolder: string }): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`lifecycle-migrations:${opts.schema}`]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder: opts.migrationsFolder, migrationsSchema: 'drizzle', migrationsTable: `${opts.schema}_migrations` });
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`lifecycle-migrations:${opts.schema}`]);
    }
  } finally {
    client.release();
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
