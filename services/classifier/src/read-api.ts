import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { Stage } from '@lifecycle/contracts';
import type { Database, FastifyInstance } from '@lifecycle/kit';
import { profiles, stageHistory } from './db/schema.ts';
import { readCustomer } from './profile-repository.ts';

const CustomerParams = z.object({ id: z.string().min(1) });
const CustomerList = z.object({
  stage: Stage.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The last customer id of the previous page. */
  cursor: z.string().min(1).optional(),
});
const Period = z
  .object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .refine((p) => Date.parse(p.from) < Date.parse(p.to), { message: 'from must be before to', path: ['to'] });

/** About ten years of days: a longer period by day is a mistake, not a chart. */
const MAX_DAY_BUCKETS = 3_700;
const StageFlows = z
  .object({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    bucket: z.enum(['month', 'week', 'day']).default('month'),
  })
  .refine((p) => Date.parse(p.from) < Date.parse(p.to), { message: 'from must be before to', path: ['to'] })
  .refine((p) => (Date.parse(p.to) - Date.parse(p.from)) / 86_400_000 <= MAX_DAY_BUCKETS || p.bucket !== 'day', { message: `at most ${MAX_DAY_BUCKETS} days by day; use week or month`, path: ['bucket'] });

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/** The read API for ops: customers, stage counts and retention figures. */
export function registerReadApi(app: FastifyInstance, db: Database): void {
  app.get('/customers/:id', async (request, reply) => {
    const { id } = CustomerParams.parse(request.params);
    const customer = await readCustomer(db, id);
    if (customer === null) return reply.status(404).send({ error: `no customer with id ${id}` });
    return customer;
  });

  app.get('/customers', async (request) => {
    const { stage, limit, cursor } = CustomerList.parse(request.query);
    const rows = await db
      .select({ customerId: profiles.customerId, stage: profiles.stage, orderCount: profiles.orderCount, lastOrderAt: profiles.lastOrderAt, lastEventAt: profiles.lastEventAt })
      .from(profiles)
      .where(and(stage === undefined ? undefined : eq(profiles.stage, stage), cursor === undefined ? undefined : gt(profiles.customerId, cursor)))
      .orderBy(asc(profiles.customerId))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return { customers: page, nextCursor: rows.length > limit ? (page.at(-1)?.customerId ?? null) : null };
  });

  app.get('/stages', async () => {
    const rows = await db.select({ stage: profiles.stage, customers: count() }).from(profiles).groupBy(profiles.stage);
    return { stages: Object.fromEntries(Stage.options.map((s) => [s, rows.find((r) => r.stage === s)?.customers ?? 0])) };
  });

  // Every bucket (UTC; weeks start on Monday) that overlaps [from, to), empty ones included, so a chart's axis has no gaps.
  app.get('/metrics/stage-flows', async (request) => {
    const { from, to, bucket } = StageFlows.parse(request.query);
    const unit = sql.raw(`'${bucket}'`);
    const rows = (
      await db.execute<{ start: string; from_stage: string | null; to_stage: string | null; moves: number }>(sql`
        WITH b AS (
          SELECT generate_series(date_trunc(${unit}, ${from}::timestamptz AT TIME ZONE 'UTC'), (${to}::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC', ${sql.raw(`interval '1 ${bucket}'`)}) AS start
        ), m AS (
          SELECT date_trunc(${unit}, ${stageHistory.occurredAt} AT TIME ZONE 'UTC') AS start, ${stageHistory.fromStage} AS from_stage, ${stageHistory.toStage} AS to_stage, count(*)::int AS moves
          FROM ${stageHistory}
          WHERE ${stageHistory.occurredAt} >= ${from} AND ${stageHistory.occurredAt} < ${to}
          GROUP BY 1, 2, 3
        )
        SELECT to_char(b.start, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS start, m.from_stage, m.to_stage, coalesce(m.moves, 0)::int AS moves
        FROM b LEFT JOIN m ON m.start = b.start
        ORDER BY b.start, m.from_stage NULLS FIRST, m.to_stage`)
    ).rows;
    const buckets: { start: string; moves: { from: string | null; to: string; count: number }[] }[] = [];
    for (const row of rows) {
      if (buckets.at(-1)?.start !== row.start) buckets.push({ start: row.start, moves: [] });
      if (row.to_stage !== null) buckets.at(-1)?.moves.push({ from: row.from_stage, to: row.to_stage, count: row.moves });
    }
    return { from, to, bucket, buckets };
  });

  app.get('/metrics/retention', async (request) => {
    const { from, to } = Period.parse(request.query);
    const orders = sql`(SELECT p.customer_id, (o->>'at')::timestamptz AS at, (o->>'total')::numeric AS total, coalesce(o->>'currency', 'USD') AS currency
      FROM ${profiles} p, jsonb_array_elements(p.data->'orders') o)`;
    const [buyers] = (
      await db.execute<{ before_from: number; returned: number; before_to: number; repeat: number }>(sql`
        WITH o AS ${orders}, c AS (
          SELECT customer_id,
            count(*) FILTER (WHERE at < ${from}) AS before_from,
            count(*) FILTER (WHERE at >= ${from} AND at < ${to}) AS within,
            count(*) FILTER (WHERE at < ${to}) AS before_to
          FROM o GROUP BY customer_id)
        SELECT count(*) FILTER (WHERE before_from > 0)::int AS before_from,
               count(*) FILTER (WHERE before_from > 0 AND within > 0)::int AS returned,
               count(*) FILTER (WHERE before_to > 0)::int AS before_to,
               count(*) FILTER (WHERE before_to > 1)::int AS repeat
        FROM c`)
    ).rows;
    const money = (
      await db.execute<{ currency: string; period_revenue: string; period_orders: number; lifetime_revenue: string; lifetime_customers: number }>(sql`
        WITH o AS ${orders}
        SELECT currency,
          coalesce(sum(total) FILTER (WHERE at >= ${from} AND at < ${to}), 0)::text AS period_revenue,
          count(*) FILTER (WHERE at >= ${from} AND at < ${to})::int AS period_orders,
          coalesce(sum(total) FILTER (WHERE at < ${to}), 0)::text AS lifetime_revenue,
          count(DISTINCT customer_id) FILTER (WHERE at < ${to})::int AS lifetime_customers
        FROM o GROUP BY currency ORDER BY currency`)
    ).rows;
    const [nps] = (
      await db.execute<{ answers: number; promoters: number; detractors: number }>(sql`
        SELECT count(*)::int AS answers,
               count(*) FILTER (WHERE (data->>'npsScore')::int >= 9)::int AS promoters,
               count(*) FILTER (WHERE (data->>'npsScore')::int <= 6)::int AS detractors
        FROM ${profiles} WHERE (data->>'npsAt')::timestamptz >= ${from} AND (data->>'npsAt')::timestamptz < ${to}`)
    ).rows;
    const moves = await db
      .select({ from: stageHistory.fromStage, to: stageHistory.toStage, moves: count() })
      .from(stageHistory)
      .where(and(sql`${stageHistory.occurredAt} >= ${from}`, sql`${stageHistory.occurredAt} < ${to}`))
      .groupBy(stageHistory.fromStage, stageHistory.toStage);
    const retention = ratio(buyers?.returned ?? 0, buyers?.before_from ?? 0);
    return {
      from,
      to,
      customerRetentionRate: retention,
      churnRate: retention === null ? null : 1 - retention,
      repeatPurchaseRate: ratio(buyers?.repeat ?? 0, buyers?.before_to ?? 0),
      byCurrency: Object.fromEntries(
        money.map((m) => [
          m.currency,
          {
            averageOrderValue: ratio(Number(m.period_revenue), m.period_orders),
            historicCustomerLifetimeValue: ratio(Number(m.lifetime_revenue), m.lifetime_customers),
            revenue: Number(m.period_revenue),
            orders: m.period_orders,
          },
        ]),
      ),
      nps: nps === undefined || nps.answers === 0 ? null : Math.round(((nps.promoters - nps.detractors) / nps.answers) * 100),
      stageMoves: moves.map((m) => ({ from: m.from, to: m.to, count: m.moves })),
    };
  });
}
