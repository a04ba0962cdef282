import { z } from 'zod';
import { Figure } from '../figure.tsx';
import { formatInteger, formatMoney, formatPercent, formatPoints, formatSignedPercent } from '../format.ts';
import { useApi } from '../use-api.ts';

/**
 * Holdouts, programme lift and sunset, as the scheduler reports them
 * (docs/measurement-and-consent.md sections 2 and 6). Every figure here is optional: a scheduler
 * from before them, or one that does not answer, shows nothing rather than zeros.
 */

/** Revenue per customer in major units, keyed by currency (never added across currencies). */
const Group = z.looseObject({
  customers: z.number(),
  converted: z.number(),
  conversionRate: z.number().nullable().default(null),
  revenuePerCustomer: z.record(z.string(), z.number()).default({}),
});
type Group = z.infer<typeof Group>;

const Lift = z.looseObject({
  absolute: z.number(),
  relative: z.number().nullable().default(null),
  ci95: z.tuple([z.number(), z.number()]),
  method: z.string().optional(),
});
type Lift = z.infer<typeof Lift>;

export const HoldoutStats = z.looseObject({
  percent: z.number(),
  mailed: Group,
  heldOut: Group,
  lift: Lift.nullable().default(null),
});
export type HoldoutStats = z.infer<typeof HoldoutStats>;

const ProgrammeStats = z.looseObject({
  globalControlPercent: z.number(),
  mailed: Group,
  control: Group,
  lift: Lift.nullable().default(null),
});
type ProgrammeStats = z.infer<typeof ProgrammeStats>;

const SunsetStats = z.looseObject({
  enabled: z.boolean(),
  after: z.string().nullable().optional(),
  grace: z.string().nullable().optional(),
  sunset: z.number(),
  rePermissionSent: z.number().optional(),
  reengaged: z.number().optional(),
});

/** `GET /api/measurement`: each part null when the scheduler does not give it. A part that does not parse is hidden too. */
const Measurement = z.looseObject({
  programme: ProgrammeStats.nullable().catch(null).default(null),
  sunset: SunsetStats.nullable().catch(null).default(null),
});

/** The interval spans 0: the data cannot tell a gain from a loss. */
export function spansZero(lift: Lift): boolean {
  return lift.ci95[0] <= 0 && lift.ci95[1] >= 0;
}

function RevenuePerCustomer({ revenue }: { revenue: Record<string, number> }) {
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

function GroupsTable({ rows }: { rows: { key: string; label: string; group: Group }[] }) {
  return (
    <table className="compact">
      <thead>
        <tr>
          <th scope="col">Group</th>
          <th scope="col" className="num">
            Customers
          </th>
          <th scope="col" className="num">
            Converted
          </th>
          <th scope="col" className="num">
            Conversion rate
          </th>
          <th scope="col" className="num">
            Revenue per customer
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ key, label, group }) => (
          <tr key={key} data-testid={`group-${key}`}>
            <th scope="row">{label}</th>
            <td className="num" data-testid="group-customers">
              {formatInteger(group.customers)}
            </td>
            <td className="num" data-testid="group-converted">
              {formatInteger(group.converted)}
            </td>
            <td className="num" data-testid="group-rate" data-value={group.conversionRate ?? ''}>
              {formatPercent(group.conversionRate)}
            </td>
            <td className="num">
              <RevenuePerCustomer revenue={group.revenuePerCustomer} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The lift in percentage points with its 95% interval, and whether the interval rules out no effect. */
function LiftLine({ lift, empty }: { lift: Lift | null; empty: string }) {
  if (lift === null) return <p className="muted">{empty}</p>;
  const significant = !spansZero(lift);
  return (
    <p data-testid="lift" data-value={lift.absolute} data-low={lift.ci95[0]} data-high={lift.ci95[1]} data-significant={String(significant)} title={lift.method}>
      Lift: <strong>{formatPoints(lift.absolute)}</strong>
      {lift.relative !== null ? ` (${formatSignedPercent(lift.relative)})` : ''}, 95% interval {formatPoints(lift.ci95[0])} to {formatPoints(lift.ci95[1])}:{' '}
      <span data-testid="lift-verdict">{significant ? (lift.absolute > 0 ? 'significant gain' : 'significant loss') : 'not significant'}</span>
    </p>
  );
}

/** The campaign page's holdout block; nothing for a campaign that holds no one out. */
export function HoldoutBlock({ holdout }: { holdout: HoldoutStats | null | undefined }) {
  if (holdout === null || holdout === undefined) return null;
  // A campaign without a holdout has percent 0 (its held-out group, if any, is the programme's control group, shown on the overview).
  if (holdout.percent <= 0) return null;
  return (
    <Figure
        testId="campaign-holdout"
        title="Holdout"
        definition={`${formatInteger(holdout.percent)}% of the customers who would have been mailed get nothing and are measured. Conversion rate: share of a group's customers with a conversion within the goal window. Lift: mailed rate minus held-out rate, in percentage points, with its 95% interval; "not significant" when the interval includes 0.`}
        wide
      >
        <GroupsTable
          rows={[
            { key: 'mailed', label: 'Mailed', group: holdout.mailed },
            { key: 'held-out', label: 'Held out', group: holdout.heldOut },
          ]}
        />
        <LiftLine lift={holdout.lift} empty="No lift yet: it shows once both groups have customers." />
      </Figure>
  );
}

/** The overview's programme lift (global control group) and sunset count; each hidden when the scheduler does not give it. */
export function MeasurementFigures() {
  const result = useApi('/api/measurement', Measurement);
  if (result.state !== 'ok') return null;
  const { programme, sunset } = result.data;
  if (programme === null && sunset === null) return null;
  return (
    <>
      {programme !== null && (programme.globalControlPercent > 0 || programme.control.customers > 0) ? <ProgrammeFigure programme={programme} /> : null}
      {sunset !== null && sunset.enabled ? (
        <Figure
          testId="sunset"
          title="Sunset"
          definition={`Customers who stopped getting marketing mail: no open or click for ${sunset.after ?? 'the configured time'}, and none within ${sunset.grace ?? 'the grace period'} of the re-permission mail. An open, a click or a new subscription brings them back.`}
        >
          <table className="compact">
            <tbody>
              <tr>
                <th scope="row">Sunset now</th>
                <td className="num" data-testid="sunset-count" data-value={sunset.sunset}>
                  {formatInteger(sunset.sunset)}
                </td>
              </tr>
              {sunset.rePermissionSent !== undefined ? (
                <tr>
                  <th scope="row">Re-permission mails sent</th>
                  <td className="num">{formatInteger(sunset.rePermissionSent)}</td>
                </tr>
              ) : null}
              {sunset.reengaged !== undefined ? (
                <tr>
                  <th scope="row">Re-engaged</th>
                  <td className="num">{formatInteger(sunset.reengaged)}</td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </Figure>
      ) : null}
    </>
  );
}

function ProgrammeFigure({ programme }: { programme: ProgrammeStats }) {
  return (
    <Figure
        testId="programme-lift"
        title="Programme lift"
        definition={`A stable ${formatInteger(programme.globalControlPercent)}% of customers (the control group) get no marketing mail at all. Mailed: customers sent any marketing mail; control: customers held out by it. Converted: with a conversion of any campaign.`}
        wide
      >
        <GroupsTable
          rows={[
            { key: 'mailed', label: 'Mailed', group: programme.mailed },
            { key: 'control', label: 'Control group', group: programme.control },
          ]}
        />
        <LiftLine lift={programme.lift} empty="No lift yet: it shows once both the mailed and the control group have customers." />
      </Figure>
  );
}
