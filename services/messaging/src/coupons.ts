import { ConfigError, Gauge, type Logger, type Registry } from '@lifecycle/kit';
import { currencyExponent, type LifecycleEvent, type MessageRequested } from '@lifecycle/contracts';
import type { CouponsRepository } from './db/coupons-repository.ts';
import { couponExpiry, localDateOf } from './domain/coupon-expiry.ts';
import { available, CouponPoolsFile, isLow, poolProblems, type CouponPools } from './domain/coupon-pools.ts';
import { couponUses } from './domain/coupon-redemption.ts';
import { readSettingsFile } from './settings-file.ts';

/** Reads `_coupons.yaml`; no file: no pools. A mistake stops start-up, naming the file and field. */
export function loadCouponPools(file: string): CouponPools {
  const { pools } = readSettingsFile(file, CouponPoolsFile, { pools: {} });
  const problems = poolProblems(pools);
  if (problems.length > 0) throw new ConfigError(`${file}: ${problems.join('; ')}`);
  return pools;
}

/** What a message's template gets as `offer` (template-data.ts `TemplateOffer`). */
export interface TemplateOffer {
  code: string;
  expiresAt: string;
  expiresOn: string;
  percent?: number;
  amount?: number;
  currency?: string;
}

export type OfferResult = { kind: 'none' } | { kind: 'offer'; offer: TemplateOffer } | { kind: 'skip'; error: string } | { kind: 'fail'; error: string };

export interface Coupons {
  /** The code of a message with an offer (`none` without one); `skip` when its pool has no code to give. */
  offerFor: (request: MessageRequested, now: Date, log: Logger) => Promise<OfferResult>;
  /** `lifecycle.events`: codes used on orders. */
  handleEvent: (event: LifecycleEvent) => Promise<void>;
  /** `GET /coupons/stats`. */
  stats: (campaignId?: string) => Promise<CouponStats>;
  pools: CouponPools;
}

export interface CouponStats {
  pools: { pool: string; kind: 'generated' | 'imported'; available: number | null; issued: number; redeemed: number; low: boolean }[];
  campaigns: {
    campaignId: string;
    variant: string | null;
    issued: number;
    redeemed: number;
    redemptionRate: number;
    redeemedMoreThanOnce: number;
    revenue: { currency: string; amountMinor: number; amount: number }[];
  }[];
}


export function createCoupons(deps: { repository: CouponsRepository; pools: CouponPools; secret: string | undefined; logger: Logger; registry?: Registry }): Coupons {
  const { repository, pools, secret, logger } = deps;

  const poolStats = async (): Promise<CouponStats['pools']> => {
    const counts = new Map((await repository.poolCounts()).map((c) => [c.pool, c]));
    return Object.entries(pools).map(([pool, config]) => {
      const c = counts.get(pool) ?? { issued: 0, unissued: 0, redeemed: 0 };
      const left = available(config, c);
      return { pool, kind: config.kind, available: left, issued: c.issued, redeemed: c.redeemed, low: isLow(config, left) };
    });
  };

  if (deps.registry !== undefined) {
    const gauge = new Gauge({
      name: 'lifecycle_coupon_pool_available',
      help: 'Coupon codes a pool still has to hand out (imported pools, and generated pools with a limit), from the database.',
      labelNames: ['pool'],
      registers: [deps.registry],
      collect: async () => {
        gauge.reset();
        try {
          for (const p of await poolStats()) if (p.available !== null) gauge.set({ pool: p.pool }, p.available);
        } catch (err) {
          logger.warn({ err }, 'coupon pools not read for /metrics');
        }
      },
    });
  }

  const offerFor = async (request: MessageRequested, now: Date, log: Logger): Promise<OfferResult> => {
    const { offer, dedupeKey, campaignId, variant, timeZone } = request.payload;
    if (offer === undefined) return { kind: 'none' };
    const config = pools[offer.pool];
    if (config === undefined) {
      log.warn({ pool: offer.pool }, 'offer names a coupon pool that is not in the coupons file, message skipped');
      return { kind: 'skip', error: `no_coupon: no pool "${offer.pool}" in the coupons file` };
    }
    if (config.kind === 'generated' && secret === undefined) return { kind: 'fail', error: `coupon pool "${offer.pool}" generates codes: set COUPON_SECRET` };
    const expiry = couponExpiry(now, timeZone, offer.expiresInDays);
    const got = await repository.assign({ dedupeKey, customerId: request.customerId, campaignId, variant: variant ?? null, pool: offer.pool, config, expiresAt: expiry.expiresAt, now }, secret);
    if (got.kind === 'none') {
      log.warn({ pool: offer.pool }, 'coupon pool has no code left, message skipped');
      return { kind: 'skip', error: `no_coupon: pool "${offer.pool}" has no code left` };
    }
    if (isLow(config, got.available)) log.warn({ pool: offer.pool, available: got.available }, 'coupon pool running low');
    const value = offer.amount !== undefined ? { amount: offer.amount, ...(offer.currency !== undefined ? { currency: offer.currency } : {}) } : offer.percent !== undefined ? { percent: offer.percent } : {};
    return { kind: 'offer', offer: { code: got.code, expiresAt: got.expiresAt.toISOString(), expiresOn: localDateOf(got.expiresAt, timeZone), ...value } };
  };

  const handleEvent = async (event: LifecycleEvent): Promise<void> => {
    const uses = couponUses(event);
    if (uses.length === 0) return;
    for (const r of await repository.redeem(uses)) {
      const fields = { eventId: event.id, customerId: event.customerId, pool: r.pool, orderId: r.use.orderId };
      if (r.outcome === 'again') logger.warn(fields, 'coupon redeemed again');
      else if (r.outcome === 'first' || r.outcome === 'applied') logger.info(fields, 'coupon redeemed');
    }
  };

  const stats = async (campaignId?: string): Promise<CouponStats> => ({
    pools: await poolStats(),
    campaigns: (await repository.campaignStats(campaignId)).map((c) => ({
      ...c,
      redemptionRate: c.issued === 0 ? 0 : c.redeemed / c.issued,
      revenue: c.revenue.map((m) => ({ ...m, amount: m.amountMinor / 10 ** (currencyExponent(m.currency) ?? 2) })),
    })),
  });

  return { offerFor, handleEvent, stats, pools };
}
