import { useEffect, useMemo, useState } from 'react';
import { z } from 'zod';
import { Chart, palette } from '../chart.tsx';
import { Figure } from '../figure.tsx';
import { formatDay, formatInteger, formatMoney, formatMoneyAxis, formatMonth, formatPercent, NONE } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { useApi } from '../use-api.ts';
import { MeasurementFigures } from './measurement.tsx';

/** The lifecycle stages in funnel order (packages/contracts' Stage). */
export const stageOrder = ['awareness', 'consideration', 'conversion', 'retention', 'advocacy', 'at_risk', 'lapsed'];

const num = z.number().nullable().optional();
const Move = z.object({ from: z.string().nullable(), to: z.string(), count: z.number() });
const FlowBucket = z.object({ start: z.string(), moves: z.array(Move) });
const CurrencyFigures = z.looseObject({ averageOrderValue: num, historicCustomerLifetimeValue: num });
const Month = z.looseObject({
  start: z.string(),
  customerRetentionRate: num,
  churnRate: num,
  repeatPurchaseRate: num,
  nps: num,
  byCurrency: z.record(z.string(), CurrencyFigures).default({}),
});
const MessageDay = z.object({ day: z.string(), byCampaign: z.record(z.string(), z.number()) });

/** Accepts `{ buckets: [...] }` / `{ days: [...] }` wrappers as the services answer them, or the bare list. */
const listOf = <T extends z.ZodType>(item: T, key: string) =>
  z.preprocess((v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && key in v ? Reflect.get(v, key) : v), z.array(item));

const Stages = z.union([
  z.record(z.string(), z.number()),
  z.array(z.object({ stage: z.string(), count: z.number() })).transform((list) => Object.fromEntries(list.map((s) => [s.stage, s.count]))),
]);

export const Overview = z.looseObject({
  from: z.string().optional(),
  to: z.string().optional(),
  stages: Stages,
  stageFlows: listOf(FlowBucket, 'buckets').default([]),
  months: z.array(Month).default([]),
  messages: listOf(MessageDay, 'days').default([]),
  definitions: z.record(z.string(), z.string()).default({}),
});
export type Overview = z.infer<typeof Overview>;

const periods = [
  { months: 3, label: 'Last 3 months' },
  { months: 6, label: 'Last 6 months' },
  { months: 12, label: 'Last 12 months' },
];

/** A monthly series: every month's point drawn, so a month alone among empty ones still shows. */
const monthly = { showSymbol: true, showAllSymbol: true, symbol: 'circle', symbolSize: 8, connectNulls: false } as const;

/** The window of the last `months` calendar months (UTC), the current one included, up to now. */
function windowOf(months: number, now: Date): { from: string; to: string } {
  return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1)).toISOString(), to: now.toISOString() };
}

const axisPercent = { type: 'value', axisLabel: { formatter: (v: number) => formatPercent(v) } };
const tooltipPercent = { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? formatPercent(v) : NONE) };

function Headline({ testId, label, value, shown, definition }: { testId: string; label: string; value: number | null | undefined; shown: string; definition: string | undefined }) {
  return (
    <div className="headline" title={definition}>
      <span className="headline-label">{label}</span>
      <span className="headline-value" data-testid={testId} data-value={value ?? ''}>
        {shown}
      </span>
    </div>
  );
}

/** The series names and labels of one answer, computed once per answer. */
function derive(data: Overview) {
  const stages = [...stageOrder.filter((s) => s in data.stages), ...Object.keys(data.stages).filter((s) => !stageOrder.includes(s))];
  const currencies = [...new Set(data.months.flatMap((m) => Object.keys(m.byCurrency)))].sort();
  const campaigns = [...new Set(data.messages.flatMap((m) => Object.keys(m.byCampaign)))].sort();
  const moveNames = [...new Set(data.stageFlows.flatMap((b) => b.moves.map((m) => `${m.from ?? 'new'} → ${m.to}`)))].sort();
  const monthLabels = data.months.map((m) => formatMonth(m.start));
  return { stages, currencies, campaigns, moveNames, monthLabels };
}

export function OverviewView({ data }: { data: Overview }) {
  const d = data.definitions;
  const months = data.months;
  const latest = months.at(-1);
  const { stages, currencies, campaigns, moveNames, monthLabels } = useMemo(() => derive(data), [data]);

  const options = useMemo(
    () => ({
      funnel: {
        color: palette,
        tooltip: { trigger: 'item', valueFormatter: (v: unknown) => (typeof v === 'number' ? formatInteger(v) : NONE) },
        series: [{ type: 'funnel', sort: 'none', left: '4%', width: '62%', minSize: '4%', label: { formatter: '{b}: {c}' }, data: stages.map((s) => ({ name: s, value: data.stages[s] ?? 0 })) }],
      },
      flows: {
        color: palette,
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', bottom: 0 },
        grid: { left: 48, right: 16, top: 16, bottom: 56 },
        xAxis: { type: 'category', data: data.stageFlows.map((b) => formatMonth(b.start)) },
        yAxis: { type: 'value', minInterval: 1 },
        series: moveNames.map((name) => ({
          name,
          type: 'bar',
          stack: 'moves',
          data: data.stageFlows.map((b) => b.moves.filter((m) => `${m.from ?? 'new'} → ${m.to}` === name).reduce((n, m) => n + m.count, 0)),
        })),
      },
      rates: {
        color: palette,
        tooltip: tooltipPercent,
        legend: { bottom: 0 },
        grid: { left: 56, right: 16, top: 16, bottom: 48 },
        xAxis: { type: 'category', data: monthLabels },
        yAxis: axisPercent,
        series: [
          { name: 'Retention', type: 'line', ...monthly, data: months.map((m) => m.customerRetentionRate ?? null) },
          { name: 'Churn', type: 'line', ...monthly, data: months.map((m) => m.churnRate ?? null) },
          { name: 'Repeat purchase', type: 'line', ...monthly, data: months.map((m) => m.repeatPurchaseRate ?? null) },
        ],
      },
      nps: {
        color: palette,
        tooltip: { trigger: 'axis' },
        grid: { left: 48, right: 16, top: 16, bottom: 32 },
        xAxis: { type: 'category', data: monthLabels },
        yAxis: { type: 'value', min: -100, max: 100 },
        series: [{ name: 'NPS', type: 'line', ...monthly, data: months.map((m) => m.nps ?? null) }],
      },
      money: Object.fromEntries(
        currencies.map((currency) => [
          currency,
          {
            color: palette,
            tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? formatMoney(v, currency) : NONE) },
            legend: { bottom: 0 },
            grid: { left: 72, right: 16, top: 16, bottom: 48 },
            xAxis: { type: 'category', data: monthLabels },
            yAxis: { type: 'value', scale: true, axisLabel: { formatter: (v: number) => formatMoneyAxis(v, currency) } },
            series: [
              { name: 'Average order value', type: 'line', ...monthly, data: months.map((m) => m.byCurrency[currency]?.averageOrderValue ?? null) },
              { name: 'Customer lifetime value', type: 'line', ...monthly, data: months.map((m) => m.byCurrency[currency]?.historicCustomerLifetimeValue ?? null) },
            ],
          },
        ]),
      ),
      messages: {
        color: palette,
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', bottom: 0 },
        grid: { left: 48, right: 16, top: 16, bottom: 56 },
        xAxis: { type: 'category', boundaryGap: false, data: data.messages.map((m) => formatDay(m.day)) },
        yAxis: { type: 'value', minInterval: 1 },
        series: campaigns.map((c) => ({ name: c, type: 'line', stack: 'messages', areaStyle: {}, symbol: 'none', data: data.messages.map((m) => m.byCampaign[c] ?? 0) })),
      },
    }),
    [data, stages, currencies, campaigns, moveNames, months, monthLabels],
  );

  const totalCustomers = stages.reduce((n, s) => n + (data.stages[s] ?? 0), 0);

  return (
    <>
      <section className="headlines" aria-label={latest !== undefined ? `Figures of ${formatMonth(latest.start)}` : 'Figures'}>
        <Headline testId="metric-retention" label="Retention" value={latest?.customerRetentionRate} shown={formatPercent(latest?.customerRetentionRate)} definition={d.customerRetentionRate} />
        <Headline testId="metric-churn" label="Churn" value={latest?.churnRate} shown={formatPercent(latest?.churnRate)} definition={d.churnRate} />
        <Headline testId="metric-repeat" label="Repeat purchase" value={latest?.repeatPurchaseRate} shown={formatPercent(latest?.repeatPurchaseRate)} definition={d.repeatPurchaseRate} />
        <Headline testId="metric-nps" label="NPS" value={latest?.nps} shown={latest?.nps === null || latest?.nps === undefined ? NONE : formatInteger(latest.nps)} definition={d.nps} />
        <p className="muted headline-note">{latest !== undefined ? `${formatMonth(latest.start)} so far; charts below show each month.` : 'No months in this window.'}</p>
      </section>

      <div className="grid">
        <Figure title="Customers per stage" definition={d.stages}>
          {totalCustomers === 0 ? (
            <Empty>No customers yet: stages fill in as the classifier sees events from ingestion.</Empty>
          ) : (
            <Chart option={options.funnel} label={`Customers per stage. ${d.stages ?? ''}`} />
          )}
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col" className="num">
                  Customers
                </th>
              </tr>
            </thead>
            <tbody>
              {stages.map((s) => (
                <tr key={s}>
                  <th scope="row">{s}</th>
                  <td className="num" data-testid={`stage-count-${s}`}>
                    {String(data.stages[s] ?? 0)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Figure>

        <Figure title="Stage flows by month" definition={d.stageFlows}>
          {moveNames.length === 0 ? (
            <Empty>No stage moves in this window: they appear when customers move from one stage to another.</Empty>
          ) : (
            <Chart option={options.flows} label="Stage moves per month, stacked by move" />
          )}
        </Figure>

        <Figure title="Retention, churn and repeat purchase" definition={[d.customerRetentionRate, d.churnRate, d.repeatPurchaseRate].filter(Boolean).join(' ')}>
          {months.length === 0 ? <Empty>No months in this window.</Empty> : <Chart option={options.rates} label="Retention, churn and repeat purchase rate per month" />}
        </Figure>

        <Figure title="Net Promoter Score" definition={d.nps}>
          {months.every((m) => m.nps === null || m.nps === undefined) ? (
            <Empty>No survey answers in this window: NPS shows once customers answer the survey.</Empty>
          ) : (
            <Chart option={options.nps} label="NPS per month" />
          )}
        </Figure>

        {currencies.length === 0 ? (
          <Figure title="Order value and lifetime value" definition={[d.averageOrderValue, d.historicCustomerLifetimeValue].filter(Boolean).join(' ')}>
            <Empty>No orders in this window: average order value and lifetime value show per currency once orders arrive.</Empty>
          </Figure>
        ) : (
          currencies.map((currency) => (
            <Figure key={currency} title={`Order value and lifetime value (${currency})`} definition={[d.averageOrderValue, d.historicCustomerLifetimeValue].filter(Boolean).join(' ')}>
              <Chart option={options.money[currency] ?? {}} label={`Average order value and customer lifetime value in ${currency} per month`} />
            </Figure>
          ))
        )}

        <Figure title="Messages per day by campaign" definition={d.messages} wide>
          {campaigns.length === 0 ? (
            <Empty>No messages sent in this window: they appear when campaigns send emails.</Empty>
          ) : (
            <Chart option={options.messages} label="Messages per day, stacked by campaign" />
          )}
        </Figure>

        <MeasurementFigures />
      </div>
    </>
  );
}

export function OverviewPage() {
  const [months, setMonths] = useState(12);
  // The server's window ends at the services' clock (simulated in a demo), not this browser's:
  // shorter windows end where its first answer ended.
  const [anchor, setAnchor] = useState<string | null>(null);
  const path = useMemo(() => {
    if (months === 12) return '/api/overview';
    const to = anchor ?? new Date().toISOString();
    const w = windowOf(months, new Date(to));
    return `/api/overview?from=${encodeURIComponent(w.from)}&to=${encodeURIComponent(to)}`;
  }, [months, anchor]);
  const result = useApi(path, Overview);
  const answeredTo = result.state === 'ok' ? result.data.to : undefined;
  useEffect(() => {
    if (anchor === null && answeredTo !== undefined) setAnchor(answeredTo);
  }, [anchor, answeredTo]);
  return (
    <>
      <div className="page-head">
        <h1>Overview</h1>
        <label>
          Period{' '}
          <select value={months} onChange={(e) => setMonths(Number(e.target.value))}>
            {periods.map((p) => (
              <option key={p.months} value={p.months}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {result.state === 'loading' ? <Loading /> : result.state === 'error' ? <ErrorAlert error={result.error} onRetry={result.reload} /> : <OverviewView data={result.data} />}
    </>
  );
}
