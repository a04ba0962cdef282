import { eq, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { profiles } from './db/schema.ts';
import { scoreRfm } from './domain/rfm.ts';
import type { Tx } from './profile-repository.ts';

/** Recomputes every customer's RFM scores and segment at `now`; resolves with how many were scored. */
export async function recomputeRfm(db: Database | Tx, now: string): Promise<number> {
  const rows = await db
    .select({
      customerId: profiles.customerId,
      lastOrderAt: profiles.lastOrderAt,
      orders: profiles.orderCount,
      revenue: sql<string>`coalesce((SELECT sum((o->>'total')::numeric) FROM jsonb_array_elements(${profiles.data}->'orders') o), 0)::text`,
    })
    .from(profiles)
    .where(isNotNull(profiles.lastOrderAt));
  const scores = scoreRfm(
    rows.flatMap((r) => (r.lastOrderAt === null ? [] : [{ customerId: r.customerId, lastOrderAt: r.lastOrderAt, orders: r.orders, revenue: Number(r.revenue) }])),
    now,
  );
  for (const s of scores) {
    await db
      .update(profiles)
      .set({ rfmRecency: s.recency, rfmFrequency: s.frequency, rfmMonetary: s.monetary, rfmSegment: s.segment, rfmAt: now })
      .where(eq(profiles.customerId, s.customerId));
  }
  // Customers whose orders were all refunded have no score any more.
  await db.update(profiles).set({ rfmRecency: null, rfmFrequency: null, rfmMonetary: null, rfmSegment: null, rfmAt: now }).where(sql`${profiles.lastOrderAt} IS NULL AND ${profiles.rfmSegment} IS NOT NULL`);
  return scores.length;
}
