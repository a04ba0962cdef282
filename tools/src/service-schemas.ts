import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { migrationsTable, type Pool } from '@lifecycle/kit';
import { repoRoot } from './kafka-broker.ts';

/** The four services, the PostgreSQL schema each owns (as its `main.ts` opens it) and its committed migrations. */
export const serviceSchemas = [
  { service: 'ingestion', schema: 'ingestion' },
  { service: 'classifier', schema: 'classifier' },
  { service: 'scheduler', schema: 'scheduler' },
  { service: 'messaging', schema: 'messaging' },
].map((s) => ({ ...s, migrationsFolder: join(repoRoot, 'services', s.service, 'drizzle') }));

const Journal = z.looseObject({ entries: z.array(z.looseObject({ idx: z.number(), when: z.number(), tag: z.string() })).min(1) });
const Snapshot = z.looseObject({
  tables: z.record(z.string(), z.looseObject({ name: z.string(), columns: z.record(z.string(), z.unknown()), indexes: z.record(z.string(), z.unknown()) })),
});

async function readJournal(migrationsFolder: string): Promise<z.infer<typeof Journal>> {
  return Journal.parse(JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')));
}

/**
 * A copy of a migrations folder holding only its first `count` migrations: the repository as it
 * was before the later ones were written.
 */
export async function firstMigrations(migrationsFolder: string, count: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lifecycle-migrations-'));
  await cp(migrationsFolder, dir, { recursive: true });
  const journal = await readJournal(migrationsFolder);
  await writeFile(join(dir, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }));
  return dir;
}

/**
 * How a schema differs from what its migrations build, by drizzle-kit's snapshot of the last
 * migration: missing or extra tables, columns and indexes, and migrations not recorded (or
 * recorded twice) in the schema's own bookkeeping. Empty when the schema is complete.
 */
export async function schemaProblems(pool: Pool, schema: string, migrationsFolder: string): Promise<string[]> {
  const journal = await readJournal(migrationsFolder);
  const last = journal.entries.at(-1);
  if (last === undefined) throw new Error(`${migrationsFolder} has no migrations`);
  const snapshot = Snapshot.parse(JSON.parse(await readFile(join(migrationsFolder, 'meta', `${String(last.idx).padStart(4, '0')}_snapshot.json`), 'utf8')));
  const expectedColumns = Object.values(snapshot.tables).flatMap((t) => Object.keys(t.columns).map((c) => `${t.name}.${c}`));
  const expectedIndexes = Object.values(snapshot.tables).flatMap((t) => Object.keys(t.indexes));

  const columns = await pool.query<{ name: string }>(
    "SELECT table_name || '.' || column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name <> $2",
    [schema, migrationsTable],
  );
  const indexes = await pool.query<{ name: string }>('SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1', [schema]);
  const bookkeeping = await pool.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [`"${schema}"."${migrationsTable}"`]);
  const recorded = bookkeeping.rows[0]?.found == null ? [] : (await pool.query<{ created_at: string }>(`SELECT created_at FROM "${schema}"."${migrationsTable}" ORDER BY id`)).rows.map((r) => Number(r.created_at));

  const actualColumns = new Set(columns.rows.map((r) => r.name));
  const actualIndexes = new Set(indexes.rows.map((r) => r.name));
  return [
    ...expectedColumns.filter((c) => !actualColumns.has(c)).map((c) => `${schema}: column ${c} missing`),
    ...[...actualColumns].filter((c) => !expectedColumns.includes(c)).map((c) => `${schema}: column ${c} not in the migrations`),
    ...expectedIndexes.filter((i) => !actualIndexes.has(i)).map((i) => `${schema}: index ${i} missing`),
    ...(JSON.stringify(recorded) === JSON.stringify(journal.entries.map((e) => e.when))
      ? []
      : [`${schema}: ${migrationsTable} records ${JSON.stringify(recorded)}, the journal has ${JSON.stringify(journal.entries.map((e) => e.when))}`]),
  ];
}

/** The schemas of the database, for asserting that nothing was created outside the services' own. */
export async function schemaNames(pool: Pool): Promise<string[]> {
  const rows = await pool.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1");
  return rows.rows.map((r) => r.name);
}
