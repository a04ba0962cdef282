import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { z } from 'zod';
import { formatDay, formatInteger, formatMoney } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { useApi } from '../use-api.ts';
import { LowPoolWarning } from './coupons.tsx';

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

const CampaignList = z.looseObject({ now: z.string().optional(), campaigns: z.array(CampaignStats) });

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

/** The windows the list can be read for, as the scheduler's clock (`now`) places them, in UTC. */
export const Period = z.enum(['all', 'this-month', 'last-month']);
export type Period = z.infer<typeof Period>;

export const periodLabels: Record<Period, string> = { all: 'All time', 'this-month': 'This month', 'last-month': 'Last month' };

/** `from`/`to` of a period: calendar months in UTC, this one up to the clock's `now`. */
export function periodWindow(period: Period, now: Date): { from: string; to: string } | null {
  if (period === 'all') return null;
  const thisMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  if (period === 'this-month') return { from: new Date(thisMonth).toISOString(), to: new Date(Math.max(now.getTime(), thisMonth + 1)).toISOString() };
  return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString(), to: new Date(thisMonth).toISOString() };
}

/** Per currency, the campaign with the most attributed revenue (amounts in different currencies are not compared). */
export function topEarners(campaigns: CampaignStats[]): { currency: string; id: string; amount: number }[] {
  const best = new Map<string, { id: string; amount: number }>();
  for (const c of campaigns) {
    for (const [currency, amount] of Object.entries(c.revenue)) {
      const held = best.get(currency);
      if (amount > 0 && (held === undefined || amount > held.amount)) best.set(currency, { id: c.id, amount });
    }
  }
  return [...best.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, b]) => ({ currency, ...b }));
}

export function CampaignsPage() {
  const [period, setPeriod] = useState<Period>('all');
  // The clock comes with every list answer; a window is placed by the last one seen.
  const [now, setNow] = useState<Date | null>(null);
  const span = now === null ? null : periodWindow(period, now);
  const path = span === null ? '/api/campaigns' : `/api/campaigns?from=${encodeURIComponent(span.from)}&to=${encodeURIComponent(span.to)}`;
  const result = useApi(period !== 'all' && now === null ? null : path, CampaignList);
  useEffect(() => {
    if (result.state === 'ok' && result.data.now !== undefined && now === null) setNow(new Date(result.data.now));
  }, [result, now]);
  const top = result.state === 'ok' ? topEarners(result.data.campaigns) : [];
  return (
    <>
      <div className="page-head">
        <h1>Campaigns</h1>
        <label>
          Period{' '}
          <select value={period} onChange={(e) => setPeriod(Period.parse(e.target.value))} aria-label="Period">
            {Period.options.map((p) => (
              <option key={p} value={p}>
                {periodLabels[p]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <LowPoolWarning />
      {span !== null ? (
        <p className="muted" data-testid="campaigns-window">
          Jobs fired and conversions made from {formatDay(span.from)} to {formatDay(span.to)} (UTC, the end excluded), by the services’ clock.
        </p>
      ) : null}
      {result.state === 'ok' && top.length > 0 ? (
        <p data-testid="top-earners">
          Most revenue{period === 'all' ? '' : ` (${periodLabels[period].toLowerCase()})`}:{' '}
          {top.map((t, i) => (
            <span key={t.currency}>
              {i > 0 ? '; ' : ''}
              <Link to={`/campaigns/${encodeURIComponent(t.id)}`}>{t.id}</Link> {formatMoney(t.amount, t.currency)}
            </span>
          ))}
        </p>
      ) : null}
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
                    <ReasonList reasons={skipsByReason(c)} />
                  </td>
                  <td className="num" data-testid={`campaign-${c.id}-conversions`}>
                    {formatInteger(c.conversions)}
                  </td>
                  <td>
                    <MoneyList revenue={c.revenue} />
                  </td>
                  <td>
                    <VariantTable stats={variantStatsOf(c)} />
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
