import { Writable } from 'node:stream';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeError, scrubStack, serializeError } from './error-serializer.ts';
import { createLogger } from './logger.ts';

/**
 * Real errors from the local PostgreSQL through drizzle and pg, not hand-made look-alikes: the
 * point is what those libraries put on them.
 */

const EMAIL = 'ann.jones@example.com';
const NAME = 'Annabel';

// A temporary table: private to the connection, gone with it.
const people = pgTable('pii_people', { email: text('email').primaryKey(), firstName: text('first_name'), visits: integer('visits') });

let pool: pg.Pool;
let client: pg.PoolClient;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
  client = await pool.connect();
  await client.query('CREATE TEMP TABLE pii_people (email text PRIMARY KEY, first_name text, visits integer)');
});

afterAll(async () => {
  client?.release();
  await pool?.end();
});

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected the query to fail');
}

async function uniqueViolation(): Promise<unknown> {
  const db = drizzle({ client });
  await db.insert(people).values({ email: EMAIL, firstName: NAME }).onConflictDoNothing();
  return caught(() => db.insert(people).values({ email: EMAIL, firstName: NAME }));
}

const LogLine = z.record(z.string(), z.unknown());

function logLines(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => text.join('').split('\n').filter((l) => l !== '').map((l) => LogLine.parse(JSON.parse(l))) };
}

describe('a drizzle unique violation', () => {
  it('carries the address and the name before serializing: the test would catch a leak', async () => {
    const err = await uniqueViolation();
    expect(err).toBeInstanceOf(Error);
    const raw = err instanceof Error ? err : new Error('unreachable');
    expect(raw.message).toContain(EMAIL);
    expect(raw.message).toContain(NAME);
    expect(String(Reflect.get(raw.cause ?? {}, 'detail'))).toContain(EMAIL);
  });

  it('keeps the SQL state, constraint, table and stack, and drops every value', async () => {
    const serialized = serializeError(await uniqueViolation());
    const json = JSON.stringify(serialized);
    expect(json).not.toContain(EMAIL);
    expect(json).not.toContain(NAME);
    expect(json).not.toMatch(/params/);
    expect(serialized).toMatchObject({
      type: 'DrizzleQueryError',
      message: expect.stringMatching(/^Failed query: insert into "pii_people" .*values \(\$1, \$2, default\): duplicate key value violates unique constraint "pii_people_pkey"$/),
      stack: expect.stringMatching(/^DrizzleQueryError: Failed query: insert into [^\n]*\n\s+at /),
      cause: { type: 'DatabaseError', code: '23505', constraint: 'pii_people_pkey', table: 'pii_people', schema: expect.stringMatching(/^pg_temp/), routine: '_bt_check_unique' },
    });
  });

  it('becomes a dead-letter line with the SQL state and no value', async () => {
    const line = describeError(await uniqueViolation());
    expect(line).toMatch(/^Failed query: insert into "pii_people" .*: duplicate key value violates unique constraint "pii_people_pkey" \(SQL state 23505\)$/);
    expect(line).not.toContain(EMAIL);
    expect(line).not.toContain(NAME);
  });

  it('is logged through the kit logger without the values, under err or as the first argument', async () => {
    const { stream, lines } = logLines();
    const logger = createLogger('test', 'info', stream);
    const err = await uniqueViolation();
    logger.error({ err }, 'insert failed');
    logger.error(err);
    logger.warn({ error: err }, 'insert failed');
    const written = lines();
    expect(written).toHaveLength(3);
    for (const line of written) {
      expect(JSON.stringify(line)).not.toContain(EMAIL);
      expect(JSON.stringify(line)).not.toContain(NAME);
      expect(JSON.stringify(line)).toContain('23505');
    }
  });
});

describe('PostgreSQL errors that quote their input', () => {
  it('lose the quoted value from the message, and their detail and where', async () => {
    const db = drizzle({ client });
    const err = await caught(() => db.execute(sql`INSERT INTO pii_people (email, visits) VALUES (${'x@example.org'}, ${NAME}::text::integer)`));
    expect(err instanceof Error ? `${err.message} ${String(err.cause)}` : '').toContain(NAME);
    const serialized = serializeError(err);
    expect(JSON.stringify(serialized)).not.toContain(NAME);
    expect(JSON.stringify(serialized)).not.toContain('x@example.org');
    expect(serialized).toMatchObject({ cause: { code: '22P02', message: 'invalid input syntax for type integer: "[redacted]"' } });
  });

  it('from JSON.parse lose the quoted start of the input', () => {
    const err = (() => {
      try {
        JSON.parse(`${EMAIL} is not json`);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(String(err)).toContain('ann.jones');
    expect(describeError(err)).toBe(`Unexpected token 'a' is not valid JSON`);
  });
});

describe('an idle connection that the server drops', () => {
  it('is logged without the client pg-pool attaches (its connection parameters)', async () => {
    const idle = new pg.Pool({ connectionString: inject('databaseUrl'), max: 1 });
    const failed = once(idle, 'error');
    const victim = await idle.connect();
    const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    victim.release();
    await client.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    const [err] = await failed;
    expect(Object.keys(err)).toContain('client');
    const { stream, lines } = logLines();
    createLogger('test', 'info', stream).error({ err }, 'idle database connection failed');
    const [line] = lines();
    expect(line?.err).toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command' });
    expect(JSON.stringify(line)).not.toMatch(/client|connectionParameters|"database"|"user"/);
    await idle.end();
  });
});

describe('a stack trace logged on its own (kafkajs logs `e.stack` beside the error)', () => {
  it('keeps its first line, scrubbed, and its frames', async () => {
    const err = await uniqueViolation();
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    expect(stack).toContain(EMAIL);
    const scrubbed = scrubStack(stack);
    expect(scrubbed).not.toContain(EMAIL);
    expect(scrubbed).not.toContain(NAME);
    expect(scrubbed).toMatch(/^Error: Failed query: insert into "pii_people"[^\n]*\n\s+at /);
  });
});

describe('errors that are not errors', () => {
  it('stay what they are, a string losing any address', () => {
    expect(serializeError('provider answered 500')).toBe('provider answered 500');
    expect(serializeError('550 no such user ann@example.com')).toBe('550 no such user [email]');
    expect(serializeError({ status: 500 })).toEqual({ status: 500 });
    expect(describeError('reached ann@example.com')).toBe('reached [email]');
  });
});
