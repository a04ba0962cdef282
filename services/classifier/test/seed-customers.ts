import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '@lifecycle/kit';
import { emptyProfile } from '../src/domain/profile.ts';
import type { RfmInput } from '../src/domain/rfm.ts';
import { profiles } from '../src/db/schema.ts';

/**
 * Writes `count` customers with orders straight into the classifier's tables, in one statement
 * (a large base in seconds, not a replay of its events): valid profiles the consumer can fold
 * later events into. Customer `seed-000042` has 1–6 orders between `from` and 700 days later;
 * most pay in EUR, some in USD, JPY (whole yen) or GBP, one in thirteen in both EUR and JPY.
 */
export async function seedCustomers(db: Database, opts: { count: number; from: string }): Promise<void> {
  const template = JSON.stringify(emptyProfile('template', opts.from));
  await db.execute(sql`
    WITH customers AS (
      SELECT i, 'seed-' || lpad(i::text, 6, '0') AS id,
        CASE WHEN i % 13 = 0 THEN 'EUR+JPY' WHEN i % 10 < 6 THEN 'EUR' WHEN i % 10 < 8 THEN 'USD' WHEN i % 10 = 8 THEN 'JPY' ELSE 'GBP' END AS paying
      FROM generate_series(1, ${opts.count}::int) i
    ), orders AS (
      SELECT c.i, c.id, k, ${opts.from}::timestamptz + ((c.i * 37 + k * 101) % 700) * interval '1 day' + (c.i % 86400) * interval '1 second' AS at,
        CASE WHEN c.paying = 'EUR+JPY' THEN (CASE WHEN k % 2 = 0 THEN 'JPY' ELSE 'EUR' END) ELSE c.paying END AS currency,
        (c.i * 31 + k * 17) % 40000 AS minor
      FROM customers c CROSS JOIN LATERAL generate_series(1, 1 + (c.i * 7) % 6) k
    ), priced AS (
      -- Yen have no minor unit: a yen order is worth its number in yen, the others in cents.
      SELECT o.*, CASE WHEN currency = 'JPY' THEN o.minor::numeric ELSE o.minor / 100.0 END AS total,
        to_char(o.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso
      FROM orders o
    ), profile AS (
      SELECT id, count(*)::int AS n, min(at) AS first_at, max(at) AS last_at, min(iso) AS first_iso, max(iso) AS last_iso,
        jsonb_agg(jsonb_build_object('orderId', id || '-o' || k, 'at', iso, 'total', total, 'currency', currency, 'amountMinor', minor) ORDER BY at, k) AS orders
      FROM priced GROUP BY id
    )
    INSERT INTO ${profiles} (customer_id, stage, first_seen_at, last_event_at, order_count, first_order_at, last_order_at, data)
    SELECT id, 'retention', first_at, last_at, n, first_at, last_at,
      ${template}::jsonb || jsonb_build_object('customerId', id, 'stage', 'retention', 'firstSeenAt', first_iso, 'lastEventAt', last_iso, 'clockAt', last_iso, 'orders', orders)
    FROM profile`);
}

/** PostgreSQL's timestamptz text as ISO 8601. */
const Timestamp = z.string().transform((v) => new Date(v).toISOString());
const SpendRow = z.object({ customer_id: z.string(), last_order_at: Timestamp, order_count: z.number().int(), currency: z.string().nullable(), revenue: z.string().nullable(), orders: z.number().int(), currency_last: Timestamp.nullable() });

/**
 * What the pure `scoreRfm` is given for every customer with an order: their orders summed per
 * currency (as numeric, like the recompute), read from the profiles as they are now.
 */
export async function rfmInputs(db: Database): Promise<RfmInput[]> {
  const result = await db.execute(sql`
    SELECT p.customer_id, p.last_order_at::text, p.order_count, o->>'currency' AS currency,
      sum((o->>'total')::numeric)::text AS revenue, count(o)::int AS orders, max((o->>'at')::timestamptz)::text AS currency_last
    FROM ${profiles} p LEFT JOIN LATERAL jsonb_array_elements(p.data->'orders') o ON true
    WHERE p.last_order_at IS NOT NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 4`);
  const customers = new Map<string, RfmInput>();
  for (const r of SpendRow.array().parse(result.rows)) {
    const customer = customers.get(r.customer_id) ?? { customerId: r.customer_id, lastOrderAt: r.last_order_at, orders: r.order_count, spend: [] };
    if (r.currency !== null && r.revenue !== null && r.currency_last !== null) customer.spend.push({ currency: r.currency, revenue: Number(r.revenue), orders: r.orders, lastOrderAt: r.currency_last });
    customers.set(r.customer_id, customer);
  }
  return [...customers.values()];
}

/**
 * Writes customers as the pure function sees them: each currency's revenue on its latest order,
 * the rest of its orders (worth nothing) a minute apart before it.
 */
export async function insertRfmInputs(db: Database, customers: RfmInput[]): Promise<void> {
  if (customers.length === 0) return;
  await db.insert(profiles).values(
    customers.map((c) => {
      const orders = c.spend
        .flatMap((s) =>
          Array.from({ length: s.orders }, (_, k) => ({
            orderId: `${c.customerId}-${s.currency}-${k}`,
            at: new Date(Date.parse(s.lastOrderAt) - k * 60_000).toISOString(),
            total: k === 0 ? s.revenue : 0,
            currency: s.currency,
          })),
        )
        .sort((a, b) => a.at.localeCompare(b.at));
      return { customerId: c.customerId, firstSeenAt: c.lastOrderAt, lastEventAt: c.lastOrderAt, orderCount: c.orders, lastOrderAt: c.lastOrderAt, data: { ...emptyProfile(c.customerId, c.lastOrderAt), orders } };
    }),
  );
}
