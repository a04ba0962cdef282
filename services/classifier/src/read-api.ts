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
