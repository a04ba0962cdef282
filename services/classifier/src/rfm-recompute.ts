import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type Component, type Logger, type Pool, type Transaction } from '@lifecycle/kit';
import { profiles, rfmRuns, rfmStaging } from './db/schema.ts';
import { fallbackSegment, segmentRules, type CurrencyRates } from './domain/rfm.ts';

/**
 * RFM scores for the whole customer base, computed in PostgreSQL as set-based statements and
 * kept off the consumers' path. The `classifier:rfm` timer's consumer only records that a
 * recompute is due (`requestRfmRecompute`); a worker works through it in short transactions of
 * its own, each one batch of customers, for at most a time budget per run, resuming where it
 * stopped on its next run. The rules are those of `scoreRfm` in domain/rfm.ts:
 *
 * - gather: per customer with an order, the last order, the order count and the monetary basis
 *   (the main currency, or the base currency when rates convert it), a batch of customer ids
 *   at a time, into `rfm_staging`;
 * - rank: the quintiles' cut points over the whole staging table, one read (window functions);
 * - apply: each customer's scores by the cut points onto profiles, a batch at a time, skipping
 *   rows a consumer holds;
 * - retry: the skipped ones, now waiting briefly for their rows;
 * - clear: no score for customers whose orders were all refunded since.
 */

/** How the worker paces itself; `config.ts` reads these from the environment. */
export interface RfmWorkerSettings {
  /** Customers per transaction. */
  batchSize: number;
  /** How long one run keeps taking batches before it yields until the next run. */
  budgetMs: number;
  /** Pause between runs. */
  pollMs: number;
  /** Longest any one statement may take (the whole-base ranking is the longest). */
  statementTimeoutMs: number;
}

export const defaultRfmWorkerSettings: RfmWorkerSettings = { batchSize: 2_000, budgetMs: 1_000, pollMs: 2_000, statementTimeoutMs: 60_000 };

/** How long the retry phase waits for a row a consumer holds before giving up until the next run. */
const RETRY_LOCK_TIMEOUT_MS = 2_000;

const Phase = z.enum(['due', 'gather', 'rank', 'apply', 'retry', 'clear', 'done', 'superseded']);
type Phase = z.infer<typeof Phase>;

/** A timestamptz as PostgreSQL prints it (`2026-01-01 09:30:00+00`), as ISO 8601. */
const Timestamp = z.string().refine((v) => !Number.isNaN(Date.parse(v))).transform((v) => new Date(v).toISOString());

const RunRow = z.object({ id: z.coerce.number().int(), at: Timestamp, phase: Phase, cursor: z.string().nullable(), scored: z.number().int(), skipped: z.number().int() });
type RunRow = z.infer<typeof RunRow>;

const BatchRow = z.object({ n: z.number().int(), last: z.string().nullable(), updated: z.number().int().default(0), present: z.number().int().default(0) });

/** What one step did. */
export type RfmStep =
  | { kind: 'idle' }
  /** Another replica holds the recompute. */
  | { kind: 'busy' }
  | { kind: 'worked'; runId: number; phase: Phase }
  | { kind: 'finished'; runId: number; at: string; scored: number; skipped: number };

/** Records, in the caller's transaction, that the scores are due to be recomputed as of `at`. */
export async function requestRfmRecompute(tx: Transaction, at: string): Promise<void> {
  await tx.insert(rfmRuns).values({ at });
}

/** Rates as one jsonb object, the base at 1; without rates nothing is converted. */
function ratesJson(rates: CurrencyRates | undefined): string {
  return JSON.stringify(rates === undefined ? {} : { ...rates.rates, [rates.base]: 1 });
}

const after = (cursor: string | null): SQL => (cursor === null ? sql`true` : sql`customer_id > ${cursor}`);

/** `segmentOf` as a CASE over columns r, f and m. */
function segmentCase(): SQL {
  const bound = (column: string, op: '>=' | '<=', value: number | undefined): SQL[] => (value === undefined ? [] : [sql`${sql.raw(column)} ${sql.raw(op)} ${value}`]);
  const whens = segmentRules.map((rule) => {
    const conditions = [...bound('r', '>=', rule.minRecency), ...bound('r', '<=', rule.maxRecency), ...bound('f', '>=', rule.minFrequency), ...bound('m', '>=', rule.minMonetary)];
    return sql`WHEN ${sql.join(conditions, sql` AND `)} THEN ${rule.segment}::text`;
  });
  return sql`CASE ${sql.join(whens, sql` `)} ELSE ${fallbackSegment}::text END`;
}

/** One batch of customers with an order: their ranking inputs into staging. */
async function gather(tx: Transaction, run: RunRow, batchSize: number, rates: CurrencyRates | undefined): Promise<z.infer<typeof BatchRow>> {
  // Summed as numeric, so decimal totals and converted amounts add up exactly. The currency
  // ranked in: the converted group or unconverted currency with most orders, then the latest
  // order, then the first code (byte order, as JavaScript compares strings).
  const result = await tx.execute(sql`
    WITH batch AS (
      SELECT customer_id, last_order_at, order_count, data->'orders' AS orders FROM ${profiles}
      WHERE last_order_at IS NOT NULL AND ${after(run.cursor)}
      ORDER BY customer_id LIMIT ${batchSize}
    ), rates AS (
      SELECT key AS currency, value::numeric AS rate FROM jsonb_each_text(${ratesJson(rates)}::jsonb)
    ), spend AS (
      SELECT b.customer_id, coalesce(o->>'currency', 'USD') AS currency, coalesce((o->>'total')::numeric, 0) AS total, (o->>'at')::timestamptz AS at
      FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.orders) o
    ), grouped AS (
      SELECT s.customer_id, CASE WHEN r.rate IS NULL THEN s.currency ELSE ${rates?.base ?? ''} END AS currency,
        sum(s.total * coalesce(r.rate, 1)) AS value, count(*) AS orders, max(s.at) AS last_at
      FROM spend s LEFT JOIN rates r ON r.currency = s.currency
      GROUP BY 1, 2
    ), basis AS (
      SELECT DISTINCT ON (customer_id) customer_id, currency, value FROM grouped
      ORDER BY customer_id, orders DESC, last_at DESC, currency COLLATE "C"
    ), staged AS (
      INSERT INTO ${rfmStaging} (customer_id, last_order_at, order_count, currency, value)
      SELECT b.customer_id, b.last_order_at, b.order_count, m.currency, m.value FROM batch b LEFT JOIN basis m USING (customer_id)
      RETURNING customer_id
    )
    SELECT (SELECT count(*) FROM staged)::int AS n, (SELECT customer_id FROM batch ORDER BY customer_id DESC LIMIT 1) AS last`);
  return BatchRow.parse(result.rows[0]);
}

/**
 * The quintiles' cut points over the whole base, in one read of the staging table: a value's
 * quintile is ceil(5 × k / n), k the customers no better (`count(*)` over a window ordered by the
 * value counts equal ones too, so they share the best score among them). As k grows with the
 * value, the quintile is 1 plus how many of the cut points c₂…c₅ the value reaches, cₛ the least
 * value with 5k > (s − 1) × n. Monetary is cut within each currency. Four values per dimension
 * are all the ranking leaves behind; apply turns them into each customer's scores.
 */
async function rank(tx: Transaction, run: RunRow): Promise<void> {
  const cuts = (from: string) =>
    sql.raw(`jsonb_build_array(${[1, 2, 3, 4].map((s) => `min(v) FILTER (WHERE 5 * k > ${s} * n)`).join(', ')}) FROM ${from}`);
  await tx.execute(sql`
    WITH r AS (
      SELECT last_order_at AS v, count(*) OVER (ORDER BY last_order_at) AS k, count(*) OVER () AS n FROM ${rfmStaging}
    ), f AS (
      SELECT order_count AS v, count(*) OVER (ORDER BY order_count) AS k, count(*) OVER () AS n FROM ${rfmStaging}
    ), m AS (
      SELECT currency, value AS v, count(*) OVER (PARTITION BY currency ORDER BY value) AS k, count(*) OVER (PARTITION BY currency) AS n
      FROM ${rfmStaging} WHERE currency IS NOT NULL
    )
    UPDATE ${rfmRuns} SET cuts = jsonb_build_object(
      'recency', (SELECT ${cuts('r')}),
      'frequency', (SELECT ${cuts('f')}),
      'monetary', (SELECT coalesce(jsonb_object_agg(currency, c), '{}') FROM (SELECT currency, ${cuts('m GROUP BY currency')}) per_currency (currency, c)))
    WHERE id = ${run.id}`);
}

/** How many of a dimension's cut points (`cuts->key`, cast to `type`) `value` reaches, plus one. */
const quintile = (value: string, cuts: string, type: string): string => `1 + ${[0, 1, 2, 3].map((i) => `(${value} >= (${cuts}->>${i})::${type})::int`).join(' + ')}`;

/**
 * Staging rows with their scores (r, f, m) and segment by the run's cut points, from `source`
 * (the staging table `s`, filtered and limited as the caller needs).
 */
function scored(run: RunRow, source: SQL): SQL {
  return sql`
    SELECT x.*, ${segmentCase()} AS segment FROM (
      SELECT s.customer_id, s.currency,
        ${sql.raw(quintile('s.last_order_at', "c.cuts->'recency'", 'timestamptz'))} AS r,
        ${sql.raw(quintile('s.order_count', "c.cuts->'frequency'", 'int'))} AS f,
        -- No spend at all to rank: the lowest monetary score.
        CASE WHEN s.currency IS NULL THEN 1 ELSE ${sql.raw(quintile('s.value', "c.cuts->'monetary'->s.currency", 'numeric'))} END AS m
      FROM (${source}) s CROSS JOIN (SELECT cuts FROM ${rfmRuns} WHERE id = ${run.id}) c
    ) x`;
}

/** The SET list copying a scored row `b` onto a profile. */
const copyScores = (at: string): SQL =>
  sql`rfm_recency = b.r, rfm_frequency = b.f, rfm_monetary = b.m, rfm_currency = b.currency, rfm_segment = b.segment, rfm_at = ${at}::timestamptz`;

/**
 * One batch of scores onto profiles. Rows are locked in customer id order, as consumers lock
 * them, and a row a consumer holds is skipped rather than waited for: the consumer never waits
 * for more than one batch's update, and the skipped are scored in the retry phase.
 */
async function apply(tx: Transaction, run: RunRow, batchSize: number): Promise<z.infer<typeof BatchRow>> {
  const result = await tx.execute(sql`
    WITH batch AS (
      ${scored(run, sql`SELECT * FROM ${rfmStaging} WHERE ${after(run.cursor)} ORDER BY customer_id LIMIT ${batchSize}`)}
    ), locked AS MATERIALIZED (
      SELECT p.customer_id FROM ${profiles} p JOIN batch b USING (customer_id) ORDER BY p.customer_id FOR UPDATE OF p SKIP LOCKED
    ), updated AS (
      UPDATE ${profiles} p SET ${copyScores(run.at)}
      FROM batch b JOIN locked l USING (customer_id) WHERE p.customer_id = b.customer_id
      RETURNING p.customer_id
    )
    SELECT (SELECT count(*) FROM batch)::int AS n, (SELECT customer_id FROM batch ORDER BY customer_id DESC LIMIT 1) AS last,
      (SELECT count(*) FROM updated)::int AS updated,
      (SELECT count(*) FROM batch b JOIN ${profiles} p USING (customer_id))::int AS present`);
  return BatchRow.parse(result.rows[0]);
}

/** One batch of the customers apply skipped, this time waiting (briefly) for their rows. */
async function retry(tx: Transaction, run: RunRow, batchSize: number): Promise<z.infer<typeof BatchRow>> {
  await tx.execute(sql`SELECT set_config('lock_timeout', ${String(RETRY_LOCK_TIMEOUT_MS)}, true)`);
  const skipped = sql`
    SELECT s.* FROM ${rfmStaging} s JOIN ${profiles} p USING (customer_id)
    WHERE p.rfm_at IS DISTINCT FROM ${run.at}::timestamptz AND ${after(run.cursor)}
    ORDER BY s.customer_id LIMIT ${batchSize}`;
  const result = await tx.execute(sql`
    WITH batch AS (
      ${scored(run, skipped)}
    ), locked AS MATERIALIZED (
      SELECT p.customer_id FROM ${profiles} p JOIN batch b USING (customer_id) ORDER BY p.customer_id FOR UPDATE OF p
    ), updated AS (
      UPDATE ${profiles} p SET ${copyScores(run.at)}
      FROM batch b JOIN locked l USING (customer_id) WHERE p.customer_id = b.customer_id
      RETURNING p.customer_id
    )
    SELECT (SELECT count(*) FROM batch)::int AS n, (SELECT customer_id FROM batch ORDER BY customer_id DESC LIMIT 1) AS last,
      (SELECT count(*) FROM updated)::int AS updated`);
  return BatchRow.parse(result.rows[0]);
}

/** One batch of customers who have a score but no order any more (all refunded): no score. */
async function clear(tx: Transaction, run: RunRow, batchSize: number): Promise<z.infer<typeof BatchRow>> {
  const result = await tx.execute(sql`
    WITH doomed AS MATERIALIZED (
      SELECT customer_id FROM ${profiles} WHERE last_order_at IS NULL AND rfm_segment IS NOT NULL
      ORDER BY customer_id LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
    ), cleared AS (
      UPDATE ${profiles} p SET rfm_recency = NULL, rfm_frequency = NULL, rfm_monetary = NULL, rfm_currency = NULL, rfm_segment = NULL, rfm_at = ${run.at}::timestamptz
      FROM doomed d WHERE p.customer_id = d.customer_id RETURNING 1
    )
    SELECT (SELECT count(*) FROM cleared)::int AS n, NULL AS last`);
  return BatchRow.parse(result.rows[0]);
}

async function moveTo(tx: Transaction, run: RunRow, phase: Phase, cursor: string | null, counts: { scored?: number; skipped?: number } = {}): Promise<void> {
  await tx.execute(sql`
    UPDATE ${rfmRuns} SET phase = ${phase}, cursor = ${cursor}, scored = scored + ${counts.scored ?? 0}, skipped = skipped + ${counts.skipped ?? 0}
    WHERE id = ${run.id}`);
}

/**
 * Does the next batch of the oldest recompute not done, in one transaction; a run due while a
 * newer one is already due is superseded. One worker at a time across replicas: the step holds a
 * transaction-level advisory lock, and the next batch starts where the committed cursor says.
 */
export async function rfmStep(pool: Pool, settings: Pick<RfmWorkerSettings, 'batchSize' | 'statementTimeoutMs'>, rates: CurrencyRates | undefined): Promise<RfmStep> {
  return inTransaction(pool, async (tx): Promise<RfmStep> => {
    await tx.execute(sql`SELECT set_config('statement_timeout', ${String(settings.statementTimeoutMs)}, true)`);
    const lock = await tx.execute(sql`SELECT pg_try_advisory_xact_lock(hashtext('lifecycle-classifier'), hashtext('rfm-recompute')) AS ok`);
    if (!z.object({ ok: z.boolean() }).parse(lock.rows[0]).ok) return { kind: 'busy' };
    await tx.execute(sql`
      UPDATE ${rfmRuns} r SET phase = 'superseded'
      WHERE phase = 'due' AND EXISTS (SELECT 1 FROM ${rfmRuns} n WHERE n.phase = 'due' AND n.id > r.id)`);
    const found = await tx.execute(sql`
      SELECT id, at::text, phase, cursor, scored, skipped FROM ${rfmRuns}
      WHERE phase NOT IN ('done', 'superseded') ORDER BY id LIMIT 1`);
    if (found.rows.length === 0) return { kind: 'idle' };
    const run = RunRow.parse(found.rows[0]);
    const { batchSize } = settings;
    const worked = (phase: Phase): RfmStep => ({ kind: 'worked', runId: run.id, phase });
    switch (run.phase) {
      case 'due':
        await tx.execute(sql`TRUNCATE ${rfmStaging}`);
        await moveTo(tx, run, 'gather', null);
        return worked('due');
      case 'gather': {
        const batch = await gather(tx, run, batchSize, rates);
        if (batch.last === null) await moveTo(tx, run, 'rank', null);
        else await moveTo(tx, run, 'gather', batch.last, { scored: batch.n });
        return worked('gather');
      }
      case 'rank':
        await rank(tx, run);
        await moveTo(tx, run, 'apply', null);
        return worked('rank');
      case 'apply': {
        const batch = await apply(tx, run, batchSize);
        if (batch.last === null) await moveTo(tx, run, run.skipped > 0 ? 'retry' : 'clear', null);
        else await moveTo(tx, run, 'apply', batch.last, { skipped: batch.present - batch.updated });
        return worked('apply');
      }
      case 'retry': {
        const batch = await retry(tx, run, batchSize);
        await moveTo(tx, run, batch.last === null ? 'clear' : 'retry', batch.last);
        return worked('retry');
      }
      case 'clear': {
        const batch = await clear(tx, run, batchSize);
        if (batch.n === batchSize) return worked('clear');
        await tx.execute(sql`TRUNCATE ${rfmStaging}`);
        await moveTo(tx, run, 'done', null);
        // The latest finished run stays, to show when the scores were last recomputed.
        await tx.execute(sql`DELETE FROM ${rfmRuns} WHERE phase IN ('done', 'superseded') AND id < ${run.id}`);
        return { kind: 'finished', runId: run.id, at: run.at, scored: run.scored, skipped: run.skipped };
      }
      case 'done':
      case 'superseded':
        return { kind: 'idle' };
    }
  });
}

/** What one run did: the steps taken, the recomputes finished, and whether work is left. */
export interface RfmRunReport {
  steps: number;
  finished: Extract<RfmStep, { kind: 'finished' }>[];
  more: boolean;
}

/**
 * Takes steps until nothing is due, another replica holds the recompute, or `budgetMs` has
 * passed (checked between steps; `statementTimeoutMs` bounds a single one).
 */
export async function runRfmRecompute(pool: Pool, settings: Pick<RfmWorkerSettings, 'batchSize' | 'statementTimeoutMs' | 'budgetMs'>, rates: CurrencyRates | undefined): Promise<RfmRunReport> {
  const deadline = performance.now() + settings.budgetMs;
  const report: RfmRunReport = { steps: 0, finished: [], more: false };
  for (;;) {
    const step = await rfmStep(pool, settings, rates);
    if (step.kind === 'idle' || step.kind === 'busy') return report;
    report.steps += 1;
    if (step.kind === 'finished') report.finished.push(step);
    if (performance.now() >= deadline) return { ...report, more: true };
  }
}

/**
 * Recomputes every score as of `now` right away, start to finish (tests, benchmarks); resolves
 * with how many customers were scored. The service leaves this to its worker.
 */
export async function recomputeRfm(pool: Pool, now: string, rates?: CurrencyRates, settings: Partial<RfmWorkerSettings> = {}): Promise<number> {
  await inTransaction(pool, (tx) => requestRfmRecompute(tx, now));
  const { finished } = await runRfmRecompute(pool, { ...defaultRfmWorkerSettings, ...settings, budgetMs: Number.POSITIVE_INFINITY }, rates);
  return finished.at(-1)?.scored ?? 0;
}

export interface RfmWorker extends Component {
  /** One run now (the worker also runs every `pollMs` on its own once started). */
  runOnce: () => Promise<RfmRunReport>;
  /** Stops the timer and waits for a run in progress. */
  stop: () => Promise<void>;
}

/** The recompute as a component: once started it runs every `pollMs`, each run at most `budgetMs` of batches. */
export function createRfmWorker(opts: { pool: Pool; logger: Logger; rates: CurrencyRates | undefined; settings: RfmWorkerSettings }): RfmWorker {
  const { pool, logger, rates, settings } = opts;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RfmRunReport> | undefined;
  const runOnce = async (): Promise<RfmRunReport> => {
    // One run at a time in this process; a second caller shares the first's.
    running ??= (async () => {
      const began = performance.now();
      try {
        const report = await runRfmRecompute(pool, settings, rates);
        for (const f of report.finished) logger.info({ runId: f.runId, at: f.at, scored: f.scored, skipped: f.skipped }, 'rfm scores recomputed');
        if (report.steps > 0) logger.debug({ steps: report.steps, more: report.more, ms: Math.round(performance.now() - began) }, 'rfm recompute run');
        return report;
      } catch (err) {
        // A lock or statement timeout, an outage: the batch rolled back and the next run resumes.
        logger.warn({ err }, 'rfm recompute step failed, resuming next run');
        return { steps: 0, finished: [], more: true };
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().finally(schedule), settings.pollMs);
    timer.unref();
  };
  return {
    name: 'rfm recompute',
    runOnce,
    start: async () => {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
