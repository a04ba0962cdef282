import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter, LifecycleEvent, topicName } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { MAX_ID_LENGTH, MAX_NESTING_DEPTH } from '../src/domain/input-limits.ts';
import { startIngestion, type Ingestion } from '../src/service.ts';

/**
 * Generated junk through the real Kafka path: each record is a plausible call with exactly one
 * defect that PostgreSQL or a recursive serializer would choke on. Each must be dead-lettered on
 * reading (attempts 0, never retried), with a reason that names the field and no database.
 */

let infra: TestInfra;
let runtime: Runtime;
let service: Ingestion;
let producer: Producer;
let clean: Awaited<ReturnType<typeof collectTopic>>;
let dead: Awaited<ReturnType<typeof collectTopic>>;

beforeAll(async () => {
  infra = await createTestInfra();
  // Error level: each junk record would otherwise log a warning.
  const config = loadConfig({ ...serviceEnv(infra), LOG_LEVEL: 'error', PORT: '0', INGESTION_WRITE_KEY_HASHES: '' });
  runtime = await openRuntime({ service: 'ingestion', config, schema: 'ingestion', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startIngestion(runtime, config);
  producer = await connectedProducer(infra);
  clean = await collectTopic(infra, 'lifecycleEvents');
  dead = await collectTopic(infra, 'commerceEvents', { deadLetter: true });
});

afterAll(async () => {
  await Promise.all([clean?.stop(), dead?.stop(), producer?.disconnect()]);
  await service?.stop();
  await runtime?.close();
});

type Kind = 'nul-value' | 'nul-key' | 'surrogate-value' | 'surrogate-key' | 'invalid-utf8' | 'deep' | 'long-id';

/** One defect, where it goes, and what the dead letter must say about it. */
interface Junk {
  kind: Kind;
  type: 'track' | 'identify' | 'page';
  anonymous: boolean;
  filler: Record<string, string | number | boolean>;
  /** Path of the defective value (or of the object holding the defective key), from the call's root. */
  path: string[];
  /** nul/surrogate: the text around the bad character; deep: how many levels and their shape. */
  text: { before: string; after: string };
  surrogate: number;
  badBytes: readonly number[];
  deep: { levels: number; shape: (string | null)[] };
  idLength: number;
}

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const ascii = fc.string({ unit: 'grapheme-ascii', maxLength: 12 });
/** Where in a call a defect can sit: a top-level field, or under one of the call's objects. */
const containers = { track: ['properties', 'context'], identify: ['traits', 'context'], page: ['properties', 'context'] } as const;
const junk: fc.Arbitrary<Junk> = fc
  .record({
    kind: fc.constantFrom<Kind>('nul-value', 'nul-key', 'surrogate-value', 'surrogate-key', 'invalid-utf8', 'deep', 'long-id'),
    type: fc.constantFrom('track' as const, 'identify' as const, 'page' as const),
    anonymous: fc.boolean(),
    filler: fc.dictionary(word, fc.oneof(ascii, fc.integer(), fc.boolean()), { maxKeys: 4 }),
    topLevel: fc.boolean(),
    topField: fc.nat(2),
    container: fc.nat(1),
    chain: fc.array(fc.oneof(word, fc.constant('products.0')), { maxLength: 2 }),
    leafKey: word,
    idKey: fc.constantFrom('order_id', 'product_id', 'checkout_id', 'id', 'cartId', 'orderID'),
    text: fc.record({ before: ascii, after: ascii }),
    surrogate: fc.integer({ min: 0xd800, max: 0xdfff }),
    badBytes: fc.constantFrom([0xff], [0xc3, 0x28], [0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]),
    // Past the limit, and up to beyond where JSON.stringify overflows the stack (about 10,000).
    deep: fc.record({ levels: fc.integer({ min: MAX_NESTING_DEPTH, max: 12_000 }), shape: fc.array(fc.option(word), { minLength: 1, maxLength: 4 }) }),
    idLength: fc.integer({ min: MAX_ID_LENGTH + 1, max: 5_000 }),
  })
  .map((g): Junk => {
    const idField = g.anonymous ? 'anonymousId' : 'userId';
    // Top-level strings a defect can sit in; keys and depth always go under one of the call's objects.
    const tops: Record<Kind, string[]> = {
      'nul-value': ['messageId', idField, ...(g.type === 'track' ? ['event'] : [])],
      'surrogate-value': ['messageId', idField],
      'invalid-utf8': ['messageId', idField],
      'long-id': ['messageId', idField],
      'nul-key': [],
      'surrogate-key': [],
      deep: [],
    };
    const top = tops[g.kind][g.topField % Math.max(1, tops[g.kind].length)];
    const nested = [containers[g.type][g.container] ?? 'context', ...g.chain.flatMap((c) => c.split('.'))];
    const leaf = g.kind === 'long-id' ? g.idKey : g.leafKey;
    const path = g.topLevel && top !== undefined ? [top] : g.kind.endsWith('-key') ? nested : [...nested, leaf];
    return { kind: g.kind, type: g.type, anonymous: g.anonymous, filler: g.filler, path, text: g.text, surrogate: g.surrogate, badBytes: g.badBytes, deep: g.deep, idLength: g.idLength };
  });

const PLACEHOLDER = '@@junk@@';

/** Sets `value` at `path`, making objects (or an array before a numeric segment) on the way. */
function setAt(target: object, path: string[], value: unknown): void {
  let current = target;
  path.forEach((segment, i) => {
    const next = path[i + 1];
    if (next === undefined) {
      Reflect.set(current, segment, value);
      return;
    }
    const slot: unknown = Reflect.get(current, segment);
    const made: object = typeof slot === 'object' && slot !== null ? slot : /^\d+$/.test(next) ? [] : {};
    Reflect.set(current, segment, made);
    current = made;
  });
}

/** `\uXXXX` as the service prints a bad character inside a field path. */
const escaped = (code: number): string => `\\u${code.toString(16).padStart(4, '0')}`;

/** The record bytes for one junk call, and the field and message its dead letter must give. */
function materialize(j: Junk, key: string): { key: string; value: Buffer; field: string; message: string } {
  const call: Record<string, unknown> = {
    type: j.type,
    messageId: `${key}-m`,
    timestamp: new Date().toISOString(),
    [j.anonymous ? 'anonymousId' : 'userId']: key,
    ...(j.type === 'track' ? { event: 'Junk Tested', properties: { ...j.filler } } : {}),
    ...(j.type === 'identify' ? { traits: { ...j.filler } } : {}),
    ...(j.type === 'page' ? { name: 'Home', properties: { ...j.filler } } : {}),
  };
  const field = j.path.join('.');
  const lone = String.fromCharCode(j.surrogate);
  switch (j.kind) {
    case 'nul-value':
      setAt(call, j.path, `${j.text.before}\u0000${j.text.after}`);
      return { key, value: Buffer.from(JSON.stringify(call)), field, message: 'contains a NUL character' };
    case 'surrogate-value':
      // JSON.stringify writes a lone surrogate as a `\udXXX` escape: the bytes are valid UTF-8.
      setAt(call, j.path, `${j.text.before}${lone}${j.text.after}`);
      return { key, value: Buffer.from(JSON.stringify(call)), field, message: 'lone UTF-16 surrogate' };
    case 'nul-key':
    case 'surrogate-key': {
      const bad = j.kind === 'nul-key' ? '\u0000' : lone;
      const code = j.kind === 'nul-key' ? 0 : j.surrogate;
      setAt(call, [...j.path, `${j.text.before}${bad}${j.text.after}`], 1);
      const printed = `${j.text.before}${escaped(code)}${j.text.after}`;
      return { key, value: Buffer.from(JSON.stringify(call)), field: `${field}.${printed}`, message: j.kind === 'nul-key' ? 'key contains a NUL character' : 'key contains a lone UTF-16 surrogate' };
    }
    case 'invalid-utf8': {
      setAt(call, j.path, `${j.text.before}${PLACEHOLDER}${j.text.after}`);
      const [head, tail] = JSON.stringify(call).split(PLACEHOLDER);
      return { key, value: Buffer.concat([Buffer.from(head ?? ''), Buffer.from(j.badBytes), Buffer.from(tail ?? '')]), field, message: 'not valid UTF-8' };
    }
    case 'deep': {
      // Written as text: JSON.stringify itself overflows the stack near 10,000 levels.
      setAt(call, j.path, PLACEHOLDER);
      const { levels, shape } = j.deep;
      const opens: string[] = [];
      const closes: string[] = [];
      const segments: string[] = [];
      for (let i = 0; i < levels; i++) {
        const key = shape[i % shape.length] ?? null;
        opens.push(key === null ? '[' : `{${JSON.stringify(key)}:`);
        closes.push(key === null ? ']' : '}');
        segments.push(key ?? '0');
      }
      const text = `${opens.join('')}"leaf"${closes.reverse().join('')}`;
      const [head, tail] = JSON.stringify(call).split(`"${PLACEHOLDER}"`);
      // The deep value sits at level path.length + 1; the first container past the limit is named.
      const inside = segments.slice(0, MAX_NESTING_DEPTH - j.path.length);
      return { key, value: Buffer.from(`${head ?? ''}${text}${tail ?? ''}`), field: [...j.path, ...inside].join('.'), message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` };
    }
    case 'long-id':
      setAt(call, j.path, 'x'.repeat(j.idLength));
      return { key, value: Buffer.from(JSON.stringify(call)), field, message: `ids are at most ${MAX_ID_LENGTH} characters` };
  }
}

const databaseWords = /postgres|invalid byte sequence|sql|insert into|select |relation|violates|database|processing failed/i;

describe('bad input on commerce.events', () => {
  it('dead-letters every generated junk record on reading, naming the field and no database, and publishes its good neighbours', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { minLength: 30, maxLength: 40 }), async (batch) => {
        run += 1;
        const records = batch.map((j, i) => materialize(j, `junk-${run}-${i}`));
        const good = [0, 1, 2].map((i) => {
          const key = `good-${run}-${i}`;
          return { key, value: JSON.stringify({ type: 'track', messageId: `${key}-m`, timestamp: new Date().toISOString(), userId: key, event: 'Junk Tested', properties: {} }) };
        });
        // One produce call each (a deep record is large), back to back: the junk lands among the
        // good records in the same fetches and chunks.
        const mid = Math.floor(records.length / 2);
        for (const r of [...records.slice(0, mid), ...good, ...records.slice(mid)]) {
          await producer.send({ topic: topicName(infra.prefix, 'commerceEvents'), messages: [{ key: r.key, value: r.value }] });
        }

        const keys = new Set(records.map((r) => r.key));
        const letters = await eventually(() => {
          const found = dead.records.filter((r) => r.key !== null && keys.has(r.key));
          expect(found).toHaveLength(records.length);
          return new Map(found.map((r) => [r.key, DeadLetter.parse(JSON.parse(r.value))]));
        }, 30_000);
        for (const record of records) {
          const letter = letters.get(record.key);
          const context = `${record.key}: ${letter?.reason ?? '(no letter)'}`;
          expect(letter?.attempts, context).toBe(0);
          expect(letter?.reason.startsWith(`input not accepted: ${record.field}: `), `${context}\nexpected field ${record.field}`).toBe(true);
          expect(letter?.reason, context).toContain(record.message);
          expect(letter?.errors[0], context).toContain(record.field);
          // The generated field name is echoed and may spell anything ("sqljn"): only the rest must be free of database words.
          expect(`${letter?.reason ?? ''} ${letter?.errors.join(' ') ?? ''}`.replaceAll(record.field, '<field>'), context).not.toMatch(databaseWords);
          expect(Buffer.from(letter?.value ?? '', 'base64').equals(record.value), context).toBe(true);
        }
        // The good records around them came through, so the consumer read past every junk record.
        await eventually(() => {
          const published = clean.records.map((r) => LifecycleEvent.parse(JSON.parse(r.value)).id);
          expect(published).toEqual(expect.arrayContaining(good.map((g) => `${g.key}-m`)));
        }, 30_000);
        expect(clean.records.filter((r) => r.key !== null && keys.has(r.key))).toEqual([]);
        const seen = await runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ingestion.seen_messages WHERE message_id LIKE $1', [`junk-${run}-%`]);
        expect(seen.rows).toEqual([{ n: 0 }]);
      }),
      // One batch of 30-40 records keeps this to seconds; every run draws a new batch.
      { numRuns: 1, endOnFailure: true },
    );
  });
});
