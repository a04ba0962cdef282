import { useMemo, useState } from 'react';
import { useParams } from 'react-router';
import { z } from 'zod';
import { ApiError } from '../api-client.ts';
import { Chart, palette } from '../chart.tsx';
import { Figure } from '../figure.tsx';
import { formatDay, formatInteger } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { useApi } from '../use-api.ts';
import { CampaignCoupons } from './coupons.tsx';
import { CampaignStats, MoneyList, skipsByReason, stateOf, VariantTable, variantStatsOf } from './campaigns.tsx';
import { HoldoutBlock, HoldoutStats } from './measurement.tsx';

const CampaignDetail = CampaignStats.extend({
  yaml: z.string().nullable().default(null),
  file: z.string().nullable().default(null),
  templateId: z.string().nullable().optional(),
  locales: z.array(z.string()).default([]),
  /** The template's own locales (messaging's), when the console could ask. */
  templateLocales: z.array(z.string()).optional(),
  sendsByDay: z.array(z.object({ day: z.string(), sent: z.number(), skipped: z.number() })).default([]),
  /** Mailed vs held out with the lift; null or absent for a campaign without a holdout (or an older scheduler). */
  holdout: HoldoutStats.nullable().catch(null).default(null),
});
type CampaignDetail = z.infer<typeof CampaignDetail>;

function Preview({ templateId, locales }: { templateId: string; locales: string[] }) {
  const [locale, setLocale] = useState(locales[0] ?? 'en');
  // The frame loads the page itself, under the preview's own policy (images over https), not the
  // console's; a template that does not render shows messaging's "Preview failed" page in it.
  const url = `/api/templates/${encodeURIComponent(templateId)}/preview?locale=${encodeURIComponent(locale)}`;
  return (
    <Figure title="Template preview" definition="The campaign's template rendered with its sample data (sample.json), per locale. Scripts in the preview do not run." wide>
      <label>
        Locale{' '}
        <select value={locale} onChange={(e) => setLocale(e.target.value)}>
          {(locales.length > 0 ? locales : ['en']).map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>
      </label>
      {/* sandbox with no permissions: no scripts, no same-origin access to the console's session. */}
      <iframe className="preview" title={`Preview of ${templateId} in ${locale}`} sandbox="" src={url} />
    </Figure>
  );
}

function CampaignView({ c }: { c: CampaignDetail }) {
  const option = useMemo(
    () => ({
      color: palette,
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 48, right: 16, top: 16, bottom: 48 },
      xAxis: { type: 'category', data: c.sendsByDay.map((d) => formatDay(d.day)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: 'Sent', type: 'bar', stack: 'jobs', data: c.sendsByDay.map((d) => d.sent) },
        { name: 'Skipped', type: 'bar', stack: 'jobs', data: c.sendsByDay.map((d) => d.skipped) },
      ],
    }),
    [c.sendsByDay],
  );
  const reasons = Object.entries(skipsByReason(c)).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <section className="headlines">
        <div className="headline">
          <span className="headline-label">State</span>
          <span className={`badge badge-${stateOf(c)}`}>{stateOf(c)}</span>
        </div>
        <div className="headline" title="Requested from messaging and not turned down by it.">
          <span className="headline-label">Sent</span>
          <span className="headline-value" data-testid={`campaign-${c.id}-sent`}>
            {formatInteger(c.sent)}
          </span>
        </div>
        <div className="headline" title="Jobs the scheduler decided not to send.">
          <span className="headline-label">Skipped</span>
          <span className="headline-value">{formatInteger(c.skipped.total)}</span>
        </div>
        <div className="headline" title="Goal events attributed to a send of the campaign.">
          <span className="headline-label">Conversions</span>
          <span className="headline-value" data-testid={`campaign-${c.id}-conversions`}>
            {formatInteger(c.conversions)}
          </span>
        </div>
        <div className="headline" title="Attributed revenue per currency.">
          <span className="headline-label">Revenue</span>
          <MoneyList revenue={c.revenue} />
        </div>
      </section>
      <div className="grid">
        <Figure title="Sends over time" definition="Jobs of this campaign per day: sent, or skipped by the scheduler." wide>
          {c.sendsByDay.length === 0 ? <Empty>No sends yet: they appear when the campaign's trigger fires for a customer.</Empty> : <Chart option={option} label="Sent and skipped jobs per day" />}
        </Figure>
        <Figure title="Skips by reason" definition="Why the scheduler did not send, counted per reason.">
          {reasons.length === 0 ? (
            <Empty>No skips.</Empty>
          ) : (
            <table className="compact">
              <tbody>
                {reasons.map(([reason, n]) => (
                  <tr key={reason}>
                    <th scope="row">{reason}</th>
                    <td className="num">{formatInteger(n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Figure>
        <HoldoutBlock holdout={c.holdout} />
        <Figure title="Per variant" definition="Sends, conversions and revenue per currency of each variant.">
          <VariantTable stats={variantStatsOf(c)} />
        </Figure>
        <CampaignCoupons campaignId={c.id} />
        <Figure title="Campaign file" definition="The campaign's YAML as it is in the repository." wide>
          {c.file !== null ? <p className="muted small">{c.file}</p> : null}
          {c.yaml === null ? <Empty>The scheduler did not give the campaign file (it reads campaign files from the repository at start).</Empty> : <pre className="yaml">{c.yaml}</pre>}
        </Figure>
        {c.templateId === null || c.templateId === undefined ? (
          <Empty>This campaign names no template to preview.</Empty>
        ) : (
          <Preview templateId={c.templateId} locales={c.templateLocales ?? c.locales} />
        )}
      </div>
    </>
  );
}

export function CampaignPage() {
  const { id = '' } = useParams();
  const result = useApi(`/api/campaigns/${encodeURIComponent(id)}`, CampaignDetail);
  return (
    <>
      <h1>{id}</h1>
      {result.state === 'loading' ? (
        <Loading />
      ) : result.state === 'error' ? (
        <ErrorAlert error={result.error.status === 404 ? new ApiError(404, `There is no campaign "${id}". The Campaigns page lists them.`) : result.error} onRetry={result.reload} />
      ) : (
        <CampaignView c={result.data} />
      )}
    </>
  );
}
