import { z } from 'zod';

const Kebab = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'pool ids are kebab-case, like birthday or win-back');

/** A pool whose codes messaging makes (see coupon-code.ts). */
export const GeneratedPool = z.strictObject({
  kind: z.literal('generated'),
  /** Printed before the random characters, e.g. `BDAY-`; letters, digits and dashes. */
  prefix: z.string().regex(/^[A-Za-z0-9-]*$/, 'letters, digits and dashes, e.g. "BDAY-"').default(''),
  /** Random characters (Crockford base32) after the prefix; 2 check characters follow. */
  length: z.number().int().min(6, 'at least 6, or codes are easy to guess').max(32).default(10),
  /** At most this many codes handed out; absent: no cap. */
  limit: z.number().int().positive().optional(),
  /** Warn below this many codes left (only with `limit`). */
  lowWater: z.number().int().min(0).optional(),
});

/** A pool of codes the shop made, loaded with `coupons:import`. */
export const ImportedPool = z.strictObject({
  kind: z.literal('imported'),
  /** Warn below this many codes left. */
  lowWater: z.number().int().min(0).optional(),
});

export const CouponPool = z.discriminatedUnion('kind', [GeneratedPool, ImportedPool], { error: 'kind: expected generated or imported' });
export type CouponPool = z.infer<typeof CouponPool>;

/** `campaigns/_coupons.yaml`. */
export const CouponPoolsFile = z.strictObject({ pools: z.record(Kebab, CouponPool).default({}) });
export type CouponPools = Record<string, CouponPool>;

/** Codes of two generated pools must not be mistaken for each other: no prefix may begin another. */
export function poolProblems(pools: CouponPools): string[] {
  const problems: string[] = [];
  const generated = Object.entries(pools).flatMap(([id, p]) => (p.kind === 'generated' ? [{ id, prefix: p.prefix.toUpperCase() }] : []));
  for (const a of generated) {
    for (const b of generated) {
      if (a.id < b.id && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix))) problems.push(`pools ${a.id} and ${b.id}: prefixes "${a.prefix}" and "${b.prefix}" overlap; give each pool a prefix of its own`);
    }
  }
  return problems;
}

/** Codes still to hand out, when the pool has a bound (imported, or generated with `limit`); null when unbounded. */
export function available(pool: CouponPool, counts: { issued: number; unissued: number }): number | null {
  if (pool.kind === 'imported') return counts.unissued;
  return pool.limit === undefined ? null : Math.max(0, pool.limit - counts.issued);
}

/** Whether the pool is below its low-water mark. */
export function isLow(pool: CouponPool, left: number | null): boolean {
  return left !== null && pool.lowWater !== undefined && left < pool.lowWater;
}
