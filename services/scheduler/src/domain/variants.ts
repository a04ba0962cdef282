import { createHash } from 'node:crypto';
import type { Campaign } from './campaign.ts';

export interface Assignment {
  /** Null when the campaign runs no A/B test. */
  variant: string | null;
  template: string;
}

/**
 * The customer's variant of an A/B test, by a stable hash of campaign and customer id: the same
 * customer always gets the same variant, and customers split by the weights.
 */
export function assignVariant(campaign: Pick<Campaign, 'id' | 'template' | 'variants'>, customerId: string): Assignment {
  const variants = campaign.variants;
  if (variants === undefined) return { variant: null, template: campaign.template };
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const bucket = createHash('sha256').update(`${campaign.id}\u0000${customerId}`).digest().readUInt32BE(0) / 0x1_0000_0000;
  let point = bucket * total;
  for (const v of variants) {
    if (point < v.weight) return { variant: v.id, template: v.template ?? campaign.template };
    point -= v.weight;
  }
  const last = variants.findLast((v) => v.weight > 0) ?? variants[0];
  return { variant: last?.id ?? null, template: last?.template ?? campaign.template };
}
