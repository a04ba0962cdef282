import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { z } from 'zod';
import { formatInteger, formatMoney } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { useApi, useApiClient } from '../use-api.ts';

/** Revenue in major units keyed by ISO 4217 code: never added across currencies. */
export const RevenueByCurrency = z.record(z.string(), z.number());
const VariantStats = z.looseObject({ sent: z.number().default(0), conversions: z.number().default(0), revenue: RevenueByCurrency.default({}) });
const Skipped = z.union([
  z.number().transform((total): { total: number; byReason: Record<string, number> } => ({ total, byReason: {} })),
  z.looseObject({ total: z.number(), byReason: z.record(z.string(), z.number()).default({}) }),
]);

export const CampaignStats = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  enabled: z.boolean().optional(),
  state: z.string().optional(),
  sent: z.number().default(0),
  pending: z.number().optional(),
  suppressed: z.number().optional(),
  failed: z.number().optional(),
  skipped: Skipped.default({ total: 0, byReason: {} }),
  /** Some answers carry skips by reason beside a plain `skipped` total. */
  skippedByReason: z.record(z.string(), z.number()).optional(),
  conversions: z.number().default(0),
  revenue: RevenueByCurrency.default({}),
  /** Per-variant stats; the campaign's variant definitions may sit under `variants` instead. */
  variantStats: z.record(z.string(), VariantStats).optional(),
  variants: z.unknown().optional(),
});
export type CampaignStats = z.infer<typeof CampaignStats>;

const CampaignList = z.looseObject({ campaigns: z.array(CampaignStats) });

export function stateOf(c: CampaignStats): string {
  return c.state ?? (c.enabled === false ? 'disabled' : 'enabled');
}

export function skipsByReason(c: CampaignStats): Record<string, number> {
  return c.skippedByReason ?? c.skipped.byReason;
}

/** Per-variant stats wherever the answer put them (`variantStats`, or `variants` when it holds stats). */
export function variantStatsOf(c: CampaignStats): Record<string, z.infer<typeof VariantStats>> {
  if (c.variantStats !== undefined) return c.variantStats;
  const parsed = z.record(z.string(), VariantStats.extend({ sent: z.number() })).safeParse(c.variants);
  return parsed.success ? parsed.data : {};
}

export function MoneyList({ revenue }: { revenue: Record<string, number> }) {
  const currencies = Object.keys(revenue).sort();
  if (currencies.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain">
      {currencies.map((c) => (
        <li key={c}>{formatMoney(revenue[c], c)}</li>
      ))}
    </ul>
  );
}

function ReasonList({ reasons }: { reasons: Record<string, number> }) {
  const entries = Object.entries(reasons).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return null;
  return (
    <ul className="plain small">
      {entries.map(([reason, n]) => (
        <li key={reason}>
          {reason}: {formatInteger(n)}
        </li>
      ))}
    </ul>
  );
}

export function VariantTable({ stats }: { stats: Record<string, z.infer<typeof VariantStats>> }) {
  const names = Object.keys(stats).sort();
  if (names.length === 0) return <span className="muted">no sends yet</span>;
  return (
    <table className="compact nested">
      <thead>
        <tr>
          <th scope="col">Variant</th>
          <th scope="col" className="num">
            Sent
          </th>
          <th scope="col" className="num">
            Conv.
          </th>
          <th scope="col">Revenue</th>
        </tr>
      </thead>
      <tbody>
        {names.map((n) => (
          <tr key={n}>
            <th scope="row">{n}</th>
            <td className="num">{formatInteger(stats[n]?.sent)}</td>
            <td className="num">{formatInteger(stats[n]?.conversions)}</td>
            <td>
              <MoneyList revenue={stats[n]?.revenue ?? {}} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The list answer carries totals only; skips by reason and per-variant figures come with each
 * campaign's own answer, fetched beside it (a handful of campaigns). A row shows totals until then.
 */
function useCampaignDetails(ids: string[] | null): Record<string, CampaignStats> {
  const client = useApiClient();
  const [details, setDetails] = useState<Record<string, CampaignStats>>({});
  const key = ids === null ? null : ids.join('\n');
  useEffect(() => {
    if (key === null) return;
    let live = true;
    for (const id of key.split('\n').filter((i) => i !== '')) {
      client.get(`/api/campaigns/${encodeURIComponent(id)}`, CampaignStats).then(
        (c) => live && setDetails((d) => ({ ...d, [id]: c })),
        () => {
          // The row keeps its totals; the campaign's own page shows the error.
        },
      );
    }
    return () => {
      live = false;
    };
  }, [client, key]);
  return details;
}

export function CampaignsPage() {
  const result = useApi('/api/campaigns', CampaignList);
  const details = useCampaignDetails(result.state === 'ok' ? result.data.campaigns.map((c) => c.id) : null);
  return (
    <>
      <h1>Campaigns</h1>
      {result.state === 'loading' ? (
        <Loading />
      ) : result.state === 'error' ? (
        <ErrorAlert error={result.error} onRetry={result.reload} />
      ) : result.data.campaigns.length === 0 ? (
        <Empty>No campaigns: add a campaign file under campaigns/ and restart the scheduler.</Empty>
      ) : (
        <div className="table-wrap card">
          <table>
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">State</th>
                <th scope="col" className="num" title="Requested from messaging and not turned down by it: what the provider was given.">
                  Sent
                </th>
                <th scope="col" className="num" title="Jobs the scheduler decided not to send, by reason.">
                  Skipped
                </th>
                <th scope="col" className="num" title="Goal events attributed to a send of the campaign.">
                  Conversions
                </th>
                <th scope="col" title="Attributed revenue per currency; currencies are never added together.">
                  Revenue
                </th>
                <th scope="col">Per variant</th>
              </tr>
            </thead>
            <tbody>
              {result.data.campaigns.map((c) => (
                <tr key={c.id} data-testid={`campaign-row-${c.id}`}>
                  <th scope="row">
                    <Link to={`/campaigns/${encodeURIComponent(c.id)}`}>{c.id}</Link>
                    {c.name !== undefined && c.name !== c.id ? <div className="muted small">{c.name}</div> : null}
                  </th>
                  <td>
                    <span className={`badge badge-${stateOf(c)}`}>{stateOf(c)}</span>
                  </td>
                  <td className="num" data-testid={`campaign-${c.id}-sent`}>
                    {formatInteger(c.sent)}
                  </td>
                  <td className="num">
                    {formatInteger(c.skipped.total)}
                    <ReasonList reasons={skipsByReason(details[c.id] ?? c)} />
                  </td>
                  <td className="num" data-testid={`campaign-${c.id}-conversions`}>
                    {formatInteger(c.conversions)}
                  </td>
                  <td>
                    <MoneyList revenue={c.revenue} />
                  </td>
                  <td>
                    <VariantTable stats={variantStatsOf(details[c.id] ?? c)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
