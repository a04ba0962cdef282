import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { z } from 'zod';
import { ApiError } from '../api-client.ts';
import { formatDateTime, NONE } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { asApiError, useApi, useApiClient } from '../use-api.ts';

const text = z.string().nullable().optional();
const TimelineEntry = z.looseObject({ at: z.string(), kind: z.enum(['event', 'stage', 'job', 'message']), title: z.string(), detail: z.string().default('') });
export type TimelineEntry = z.infer<typeof TimelineEntry>;

const Consent = z.looseObject({ state: text, marketingAllowed: z.boolean().nullable().optional(), changedAt: text });

export const CustomerAnswer = z.looseObject({
  customerId: z.string(),
  profile: z.looseObject({ stage: text, locale: text, timeZone: text, consent: Consent.nullable().optional() }).nullable().default(null),
  rfm: z.looseObject({ segment: text, recency: z.number().nullable().optional(), frequency: z.number().nullable().optional(), monetary: z.number().nullable().optional() }).nullable().default(null),
  contact: z.looseObject({ stage: text, locale: text, timeZone: text, zone: text, consentState: text, unsubscribed: z.boolean().optional() }).nullable().default(null),
  consent: Consent.nullable().default(null),
  jobs: z.array(z.looseObject({ campaignId: z.string() })).default([]),
  timeline: z.array(TimelineEntry).default([]),
});
export type CustomerAnswer = z.infer<typeof CustomerAnswer>;

const CampaignIds = z.looseObject({ campaigns: z.array(z.looseObject({ id: z.string() })) });
const WhyAnswer = z.looseObject({ campaignId: z.string().optional(), answer: z.string(), facts: z.array(z.unknown()).default([]) });

const kindLabel: Record<TimelineEntry['kind'], string> = { event: 'Event', stage: 'Stage', job: 'Job', message: 'Message' };

const Fact = z.looseObject({ text: z.string(), kind: z.string().optional(), at: z.string().optional() });

function factText(fact: unknown): string {
  if (typeof fact === 'string') return fact;
  const known = Fact.safeParse(fact);
  if (known.success) return `${known.data.kind !== undefined ? `${known.data.kind}: ` : ''}${known.data.text}${known.data.at !== undefined ? ` (${formatDateTime(known.data.at)})` : ''}`;
  if (typeof fact === 'number' || typeof fact === 'boolean') return String(fact);
  if (typeof fact === 'object' && fact !== null) {
    return Object.entries(fact)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' · ');
  }
  return NONE;
}

function consentOf(c: CustomerAnswer): string {
  const state = c.consent?.state ?? c.profile?.consent?.state ?? c.contact?.consentState;
  if (state !== null && state !== undefined) return state;
  if (c.contact?.unsubscribed === true) return 'unsubscribed';
  return NONE;
}

export function Timeline({ entries }: { entries: TimelineEntry[] }) {
  if (entries.length === 0) return <Empty>Nothing yet: events, stage moves, campaign jobs and messages of this customer appear here.</Empty>;
  return (
    <ol className="timeline" data-testid="timeline">
      {entries.map((e, i) => (
        <li key={`${e.at}-${e.kind}-${i}`} data-kind={e.kind} className={`timeline-${e.kind}`}>
          <time dateTime={e.at}>{formatDateTime(e.at)}</time>
          <span className={`badge badge-kind-${e.kind}`}>{kindLabel[e.kind]}</span>
          <span className="timeline-title">{e.title}</span>
          {e.detail !== '' ? <span className="muted timeline-detail">{e.detail}</span> : null}
        </li>
      ))}
    </ol>
  );
}

function WhyForm({ customerId, suggested }: { customerId: string; suggested: string[] }) {
  const client = useApiClient();
  const campaigns = useApi('/api/campaigns', CampaignIds);
  const ids = [...new Set([...(campaigns.state === 'ok' ? campaigns.data.campaigns.map((c) => c.id) : []), ...suggested])].sort();
  const [campaign, setCampaign] = useState('');
  const [result, setResult] = useState<{ state: 'idle' } | { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'ok'; data: z.infer<typeof WhyAnswer> }>({ state: 'idle' });
  const chosen = campaign !== '' ? campaign : (ids[0] ?? '');

  const ask = async (e: FormEvent) => {
    e.preventDefault();
    if (chosen === '') return;
    setResult({ state: 'loading' });
    try {
      const data = await client.get(`/api/customers/${encodeURIComponent(customerId)}/why?campaign=${encodeURIComponent(chosen)}`, WhyAnswer);
      setResult({ state: 'ok', data });
    } catch (err) {
      setResult({ state: 'error', error: asApiError(err) });
    }
  };

  return (
    <section className="card">
      <h2>Why did or didn’t they get a campaign?</h2>
      {ids.length === 0 && campaigns.state !== 'loading' ? (
        <Empty>No campaigns to ask about: the Campaigns page lists them once the scheduler has some.</Empty>
      ) : (
        <form className="inline-form" onSubmit={(e) => void ask(e)}>
          <label htmlFor="why-campaign">Campaign</label>
          <select id="why-campaign" value={chosen} onChange={(e) => setCampaign(e.target.value)}>
            {ids.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
          <button type="submit" disabled={chosen === '' || result.state === 'loading'}>
            Why?
          </button>
        </form>
      )}
      {result.state === 'loading' ? <Loading /> : null}
      {result.state === 'error' ? <ErrorAlert error={result.error} /> : null}
      {result.state === 'ok' ? (
        <div className="why">
          <p data-testid="why-answer" className="why-answer">
            {result.data.answer}
          </p>
          {result.data.facts.length > 0 ? (
            <ul className="facts">
              {result.data.facts.map((f, i) => (
                <li key={i}>{factText(f)}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

export function CustomerView({ c }: { c: CustomerAnswer }) {
  const stage = c.profile?.stage ?? c.contact?.stage ?? null;
  const rows: [string, string, string?][] = [
    ['Stage', stage ?? NONE, 'customer-stage'],
    ['RFM segment', c.rfm?.segment ?? NONE],
    ['Consent', consentOf(c)],
    ['Locale', c.profile?.locale ?? c.contact?.locale ?? NONE],
    ['Time zone', c.profile?.timeZone ?? c.contact?.timeZone ?? c.contact?.zone ?? NONE],
  ];
  return (
    <div className="grid">
      <section className="card">
        <h2>Profile</h2>
        <dl className="profile">
          {rows.map(([label, value, testId]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd data-testid={testId}>{value}</dd>
            </div>
          ))}
        </dl>
      </section>
      <WhyForm customerId={c.customerId} suggested={[...new Set(c.jobs.map((j) => j.campaignId))]} />
      <section className="card wide">
        <h2>Timeline</h2>
        <Timeline entries={c.timeline} />
      </section>
    </div>
  );
}

export function CustomerPage() {
  const { id = '' } = useParams();
  const result = useApi(`/api/customers/${encodeURIComponent(id)}`, CustomerAnswer);
  return (
    <>
      <h1>Customer {id}</h1>
      {result.state === 'loading' ? (
        <Loading />
      ) : result.state === 'error' ? (
        result.error.status === 404 ? (
          <div role="alert" className="state state-error">
            <p>No service knows a customer with the id “{id}”.</p>
            <Link to="/customers">Look up another customer</Link>
          </div>
        ) : (
          <ErrorAlert error={result.error} onRetry={result.reload} />
        )
      ) : (
        <CustomerView c={result.data} />
      )}
    </>
  );
}
