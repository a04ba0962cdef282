import { asc, eq, sql } from 'drizzle-orm';
import { inTransaction, type Database, type Pool } from '@lifecycle/kit';
import { generateCode } from '../domain/coupon-code.ts';
import type { CouponPool } from '../domain/coupon-pools.ts';
import type { CouponUse } from '../domain/coupon-redemption.ts';
import { couponRedemptions, coupons, type CouponRow } from './schema.ts';

/** What a message asks of its pool. */
export interface CouponRequest {
  dedupeKey: string;
  customerId: string;
  campaignId: string;
  variant: string | null;
  pool: string;
  config: CouponPool;
  /** When a code handed out now expires. */
  expiresAt: Date;
  now: Date;
}

export type Assignment =
  /** `reused`: the key held it already (a redelivery or retry). `available`: codes left in the pool, null when unbounded. */
  | { kind: 'issued'; code: string; expiresAt: Date; reused: boolean; available: number | null }
  | { kind: 'none' };

export type RedemptionOutcome = 'first' | 'again' | 'repeat' | 'applied' | 'not-ours';

export interface PoolCounts {
  pool: string;
  issued: number;
  unissued: number;
  redeemed: number;
}

export interface CampaignCouponStats {
  campaignId: string;
  variant: string | null;
  issued: number;
  redeemed: number;
  redeemedMoreThanOnce: number;
  revenue: { currency: string; amountMinor: number }[];
}

export interface CouponsRepository {
  /**
   * The code of a message, in one transaction: the one its dedupe key holds already, else the
   * next available imported code (`FOR UPDATE SKIP LOCKED`, so replicas never take the same one),
   * else a new generated one (`secret` signs it). `none` when the pool has no code to give.
   */
  assign: (request: CouponRequest, secret: string | undefined) => Promise<Assignment>;
  /** Records uses of codes; a redelivered use changes nothing. One outcome per use. */
  redeem: (uses: readonly CouponUse[]) => Promise<{ use: CouponUse; outcome: RedemptionOutcome; pool: string | null }[]>;
  /** Imports codes into a pool: codes already known (in any pool) are left as they are. */
  importCodes: (pool: string, codes: readonly string[], now: Date) => Promise<{ imported: number; known: number }>;
  /** A pool's codes, imported (available or not) and issued, oldest first. */
  exportCodes: (pool: string) => Promise<CouponRow[]>;
  /** Per pool: issued, still available (imported, not issued) and redeemed. */
  poolCounts: () => Promise<PoolCounts[]>;
  /** Per campaign and variant (of one campaign when given). */
  campaignStats: (campaignId?: string) => Promise<CampaignCouponStats[]>;
}

const GENERATE_TRIES = 5;

export function createCouponsRepository(deps: { db: Database; pool: Pool }): CouponsRepository {
  const { db, pool } = deps;

  const countsOf = async (q: Pick<Database, 'execute'>, name: string): Promise<{ issued: number; unissued: number }> => {
    const { rows } = await q.execute<{ issued: number; unissued: number }>(
      sql`SELECT count(*) FILTER (WHERE dedupe_key IS NOT NULL)::int AS issued, count(*) FILTER (WHERE dedupe_key IS NULL)::int AS unissued FROM ${coupons} WHERE pool = ${name}`,
    );
    return rows[0] ?? { issued: 0, unissued: 0 };
  };

  const assign = async (r: CouponRequest, secret: string | undefined): Promise<Assignment> =>
    inTransaction(pool, async (tx) => {
      const [held] = await tx.select().from(coupons).where(eq(coupons.dedupeKey, r.dedupeKey));
      const issuedValues = { dedupeKey: r.dedupeKey, customerId: r.customerId, campaignId: r.campaignId, variant: r.variant, issuedAt: r.now, expiresAt: r.expiresAt };
      if (held !== undefined) return { kind: 'issued', code: held.code, expiresAt: held.expiresAt ?? r.expiresAt, reused: true, available: null };
      if (r.config.kind === 'imported') {
        const { rows } = await tx.execute<{ code: string }>(
          sql`SELECT code FROM ${coupons} WHERE pool = ${r.pool} AND dedupe_key IS NULL ORDER BY imported_at, code LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
        const next = rows[0];
        if (next === undefined) return { kind: 'none' };
        await tx.update(coupons).set(issuedValues).where(eq(coupons.code, next.code));
        return { kind: 'issued', code: next.code, expiresAt: r.expiresAt, reused: false, available: (await countsOf(tx, r.pool)).unissued };
      }
      if (secret === undefined) throw new Error('a generated coupon pool needs COUPON_SECRET');
      const { limit } = r.config;
      let available: number | null = null;
      if (limit !== undefined) {
        // One message at a time counts a capped pool, so two replicas cannot both take the last code.
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`messaging.coupons:${r.pool}`}))`);
        const { issued } = await countsOf(tx, r.pool);
        if (issued >= limit) return { kind: 'none' };
        available = limit - issued - 1;
      }
      for (let i = 0; i < GENERATE_TRIES; i++) {
        const code = generateCode(r.config, secret);
        const [inserted] = await tx
          .insert(coupons)
          .values({ code, pool: r.pool, ...issuedValues })
          .onConflictDoNothing({ target: coupons.code })
          .returning({ code: coupons.code });
        if (inserted !== undefined) return { kind: 'issued', code, expiresAt: r.expiresAt, reused: false, available };
      }
      throw new Error(`pool ${r.pool}: ${GENERATE_TRIES} generated codes in a row were taken; make its codes longer`);
    });

  const redeemOne = async (use: CouponUse): Promise<{ outcome: RedemptionOutcome; pool: string | null }> =>
    inTransaction(pool, async (tx) => {
      const [row] = await tx.select().from(coupons).where(eq(coupons.code, use.code)).for('update');
      if (row === undefined || row.dedupeKey === null) return { outcome: 'not-ours', pool: null };
      const revenue = use.value === null ? {} : { revenueMinor: use.value.amountMinor, revenueCurrency: use.value.currency };
      if (use.orderId === null) {
        // Applied to a cart: the first use of the code, until an order names it.
        if (row.redemptions > 0) return { outcome: 'repeat', pool: row.pool };
        await tx.update(coupons).set({ redeemedAt: use.at, redemptions: 1 }).where(eq(coupons.code, row.code));
        return { outcome: 'applied', pool: row.pool };
      }
      const [inserted] = await tx.insert(couponRedemptions).values({ code: row.code, orderId: use.orderId, redeemedAt: use.at }).onConflictDoNothing().returning({ code: couponRedemptions.code });
      if (inserted === undefined) {
        // The same order again (a redelivery, or its Order Completed after its Coupon Applied): only a value not known yet.
        if (row.redeemedOrderId === use.orderId && row.revenueMinor === null && use.value !== null) await tx.update(coupons).set(revenue).where(eq(coupons.code, row.code));
        return { outcome: 'repeat', pool: row.pool };
      }
      if (row.redeemedOrderId === null) {
        // The first order (or the order of a code applied without one, counted already).
        await tx
          .update(coupons)
          .set({ redeemedAt: row.redeemedAt ?? use.at, redeemedOrderId: use.orderId, redemptions: Math.max(row.redemptions, 1), ...revenue })
          .where(eq(coupons.code, row.code));
        return { outcome: 'first', pool: row.pool };
      }
      await tx.update(coupons).set({ redemptions: sql`${coupons.redemptions} + 1` }).where(eq(coupons.code, row.code));
      return { outcome: 'again', pool: row.pool };
    });

  return {
    assign,
    redeem: async (uses) => {
      const out: { use: CouponUse; outcome: RedemptionOutcome; pool: string | null }[] = [];
      for (const use of uses) out.push({ use, ...(await redeemOne(use)) });
      return out;
    },
    importCodes: async (name, codes, now) => {
      let imported = 0;
      // A statement per 1,000 codes: a shop's export may hold tens of thousands.
      for (let i = 0; i < codes.length; i += 1000) {
        const chunk = codes.slice(i, i + 1000);
        const rows = await db
          .insert(coupons)
          .values(chunk.map((code) => ({ code, pool: name, importedAt: now })))
          .onConflictDoNothing({ target: coupons.code })
          .returning({ code: coupons.code });
        imported += rows.length;
      }
      return { imported, known: codes.length - imported };
    },
    exportCodes: async (name) => db.select().from(coupons).where(eq(coupons.pool, name)).orderBy(asc(sql`coalesce(${coupons.issuedAt}, ${coupons.importedAt})`), asc(coupons.code)),
    poolCounts: async () => {
      const { rows } = await db.execute<{ pool: string; issued: number; unissued: number; redeemed: number }>(sql`
        SELECT pool, count(*) FILTER (WHERE dedupe_key IS NOT NULL)::int AS issued, count(*) FILTER (WHERE dedupe_key IS NULL)::int AS unissued,
               count(*) FILTER (WHERE redemptions > 0)::int AS redeemed
        FROM ${coupons} GROUP BY pool ORDER BY pool`);
      return rows;
    },
    campaignStats: async (campaignId) => {
      const filter = campaignId === undefined ? sql`campaign_id IS NOT NULL` : sql`campaign_id = ${campaignId}`;
      const { rows } = await db.execute<{ campaign_id: string; variant: string | null; issued: number; redeemed: number; again: number; revenue: { currency: string; amountMinor: string }[] | null }>(sql`
        WITH c AS (SELECT * FROM ${coupons} WHERE ${filter} AND dedupe_key IS NOT NULL),
        r AS (
          SELECT campaign_id, variant, revenue_currency AS currency, sum(revenue_minor)::text AS amount
          FROM c WHERE revenue_currency IS NOT NULL GROUP BY 1, 2, 3
        )
        SELECT c.campaign_id, c.variant, count(*)::int AS issued, count(*) FILTER (WHERE redemptions > 0)::int AS redeemed,
               count(*) FILTER (WHERE redemptions > 1)::int AS again,
               (SELECT json_agg(json_build_object('currency', r.currency, 'amountMinor', r.amount) ORDER BY r.currency) FROM r
                WHERE r.campaign_id = c.campaign_id AND r.variant IS NOT DISTINCT FROM c.variant) AS revenue
        FROM c GROUP BY c.campaign_id, c.variant ORDER BY c.campaign_id, c.variant NULLS FIRST`);
      return rows.map((row) => ({
        campaignId: row.campaign_id,
        variant: row.variant,
        issued: row.issued,
        redeemed: row.redeemed,
        redeemedMoreThanOnce: row.again,
        revenue: (row.revenue ?? []).map((m) => ({ currency: m.currency, amountMinor: Number(m.amountMinor) })),
      }));
    },
  };
}

