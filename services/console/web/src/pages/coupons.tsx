import { z } from 'zod';
import { Figure } from '../figure.tsx';
import { formatInteger, formatMoneyMinor, formatPercent } from '../format.ts';
import { Empty } from '../states.tsx';
import { useApi } from '../use-api.ts';

/** Messaging's coupon figures as `GET /api/coupons` passes them on (docs/offers.md §3). */
const CouponPool = z.looseObject({
  pool: z.string(),
  kind: z.string().optional(),
  available: z.number().nullable().optional(),
  issued: z.number().default(0),
  redeemed: z.number().default(0),
  low: z.boolean().default(false),
});
const CouponCampaign = z.looseObject({
  campaignId: z.string(),
  variant: z.string().nullable().default(null),
  issued: z.number().default(0),
  redeemed: z.number().default(0),
  redemptionRate: z.number().nullable().default(null),
  redeemedMoreThanOnce: z.number().default(0),
  revenue: z.array(z.object({ currency: z.string(), amountMinor: z.number() })).default([]),
});
export const CouponStats = z.looseObject({
  /** False when messaging keeps no coupons (an older messaging). */
  available: z.boolean().default(true),
  pools: z.array(CouponPool).default([]),
  campaigns: z.array(CouponCampaign).default([]),
});
export type CouponStats = z.infer<typeof CouponStats>;

/** Pools below their low-water mark, as a warning; nothing while loading, on error or with none low. */
export function LowPoolWarning() {
  const result = useApi('/api/coupons', CouponStats);
  if (result.state !== 'ok') return null;
  const low = result.data.pools.filter((p) => p.low);
  if (low.length === 0) return null;
  return (
    <div className="state state-warning" data-testid="coupon-pools-low">
      <p>
        <strong>Coupon pool running low:</strong>{' '}
        {low.map((p, i) => (
          <span key={p.pool} data-testid={`coupon-pool-low-${p.pool}`}>
            {i > 0 ? ', ' : ''}
            {p.pool} ({p.available === null || p.available === undefined ? 'few' : formatInteger(p.available)} codes left)
          </span>
        ))}
        . Mail of a campaign whose pool is empty is skipped (no_coupon): import more codes with <code>./lifecycle coupons:import POOL file.csv</code>.
      </p>
    </div>
  );
}

/** The campaign's codes: issued, redeemed, rate, revenue per currency and codes redeemed more than once, per variant. */
export function CampaignCoupons({ campaignId }: { campaignId: string }) {
  const result = useApi(`/api/coupons?campaignId=${encodeURIComponent(campaignId)}`, CouponStats);
  if (result.state !== 'ok') return null;
  const rows = result.data.campaigns.filter((c) => c.campaignId === campaignId).sort((a, b) => (a.variant ?? '').localeCompare(b.variant ?? ''));
  // A campaign without an offer hands out no codes: nothing to show.
  if (rows.length === 0) return null;
  const again = rows.reduce((n, r) => n + r.redeemedMoreThanOnce, 0);
  return (
    <Figure title="Coupon codes" definition="Codes messaging handed out with this campaign's mail, one per message; redeemed: an order or a Coupon Applied event carried the code. Revenue is that of the first order with each code, per currency." wide>
      <table className="compact" data-testid="campaign-coupons">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Issued</th>
            <th scope="col">Redeemed</th>
            <th scope="col">Rate</th>
            <th scope="col">Revenue</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.variant ?? ''} data-testid={`coupons-variant-${r.variant ?? 'all'}`}>
              <th scope="row">{r.variant ?? 'all'}</th>
              <td className="num" data-testid="coupons-issued">
                {formatInteger(r.issued)}
              </td>
              <td className="num" data-testid="coupons-redeemed">
                {formatInteger(r.redeemed)}
              </td>
              <td className="num" data-testid="coupons-rate">
                {formatPercent(r.redemptionRate ?? (r.issued === 0 ? null : r.redeemed / r.issued))}
              </td>
              <td>
                {r.revenue.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  <ul className="plain">
                    {[...r.revenue]
                      .sort((a, b) => a.currency.localeCompare(b.currency))
                      .map((m) => (
                        <li key={m.currency}>{formatMoneyMinor(m.amountMinor, m.currency)}</li>
                      ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {again > 0 ? (
        <p className="muted small" data-testid="coupons-redeemed-again">
          {formatInteger(again)} {again === 1 ? 'code was' : 'codes were'} used on more than one order (a shared code, or a shop that does not limit it to one use).
        </p>
      ) : (
        <Empty>No code was used on more than one order.</Empty>
      )}
    </Figure>
  );
}
