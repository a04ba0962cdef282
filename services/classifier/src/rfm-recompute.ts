import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '@lifecycle/kit';
import { profiles } from './db/schema.ts';
import { scoreRfm, type CurrencyRates, type RfmInput } from './domain/rfm.ts';
import type { Tx } from './profile-repository.ts';

/** A timestamptz as PostgreSQL prints it (`2026-01-01 09:30:00+00`), as ISO 8601. */
const Timestamp = z.string().refine((v) => !Number.isNaN(Date.parse(v))).transform((v) => new Date(v).toISOString());

/** One customer's orders in one currency. */
const SpendRow = z.object({
  customer_id: z.string(),
  last_order_at: Timestamp,
  order_count: z.number().int(),
  currency: z.string(),
  revenue: z.coerce.number(),
  orders: z.number().int(),
  currency_last_order_at: Timestamp,
});

/**
 * Recomputes every customer's RFM scores and segment at `now`, monetary per currency unless
 * `rates` converts it; resolves with how many were scored.
 */
export async function recomputeRfm(db: Database | Tx, now: string, rates?: CurrencyRates): Promise<number> {
  // Summed as numeric in PostgreSQL, so decimal totals add up exactly before they become numbers.
  const result = await db.execute(sql`
    SELECT p.customer_id, p.last_order_at::text, p.order_count, coalesce(o->>'currency', 'USD') AS currency,
      coalesce(sum((o->>'total')::numeric), 0)::text AS revenue, count(*)::int AS orders,
      max((o->>'at')::timestamptz)::text AS currency_last_order_at
    FROM ${profiles} p, jsonb_array_elements(p.data->'orders') o
    WHERE p.last_order_at IS NOT NULL
    GROUP BY p.customer_id, p.last_order_at, p.order_count, 4
    ORDER BY p.customer_id, 4`);
  const customers = new Map<string, RfmInput>();
  for (const r of SpendRow.array().parse(result.rows)) {
    const customer = customers.get(r.customer_id) ?? { customerId: r.customer_id, lastOrderAt: r.last_order_at, orders: r.order_count, spend: [] };
    customer.spend.push({ currency: r.currency, revenue: r.revenue, orders: r.orders, lastOrderAt: r.currency_last_order_at });
    customers.set(r.customer_id, customer);
  }
  const scores = scoreRfm([...customers.values()], now, rates);
  for (const s of scores) {
    await db
      .update(profiles)
      .set({ rfmRecency: s.recency, rfmFrequency: s.frequency, rfmMonetary: s.monetary, rfmCurrency: s.monetaryCurrency, rfmSegment: s.segment, rfmAt: now })
      .where(eq(profiles.customerId, s.customerId));
  }
  // Customers whose orders were all refunded have no score any more.
  await db
    .update(profiles)
    .set({ rfmRecency: null, rfmFrequency: null, rfmMonetary: null, rfmCurrency: null, rfmSegment: null, rfmAt: now })
    .where(sql`${profiles.lastOrderAt} IS NULL AND ${profiles.rfmSegment} IS NOT NULL`);
  return scores.length;
}

