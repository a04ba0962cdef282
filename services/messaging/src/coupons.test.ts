import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadCouponPools } from './coupons.ts';

const campaignsDir = join(import.meta.dirname, '..', '..', '..', 'campaigns');

/** Paths of every `code` key under a value. */
function codes(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => codes(v, `${path}.${i}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [...(k === 'code' ? [`${path}.${k}`] : []), ...codes(v, `${path}.${k}`)]);
}

describe('the shipped coupon pools and offers', () => {
  const pools = loadCouponPools(join(campaignsDir, '_coupons.yaml'));
  const campaigns = readdirSync(campaignsDir)
    .filter((f) => f.endsWith('.yaml') && !f.startsWith('_'))
    .map((f) => ({ file: f, doc: z.record(z.string(), z.unknown()).parse(parse(readFileSync(join(campaignsDir, f), 'utf8'))) }));

  it('keep no shared code in any campaign’s data: each message gets a code of its own', () => {
    expect(campaigns.flatMap(({ file, doc }) => [...codes(doc['data'], `${file}: data`), ...codes(doc['localizedData'], `${file}: localizedData`)])).toEqual([]);
  });

  it('take every offer from a pool of _coupons.yaml', () => {
    const offers = campaigns.flatMap(({ file, doc }) => {
      const offer = doc['offer'];
      return typeof offer === 'object' && offer !== null && 'pool' in offer ? [{ file, pool: String(offer.pool) }] : [];
    });
    expect(offers.map((o) => o.file).sort()).toEqual(['birthday.yaml', 'first-order-anniversary.yaml', 'win-back-at-risk.yaml', 'win-back-lapsed.yaml']);
    for (const o of offers) expect(pools[o.pool], `${o.file}: pool ${o.pool}`).toBeDefined();
  });
});
