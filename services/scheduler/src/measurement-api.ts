import { sql, type SQL } from 'drizzle-orm';
import { toMajorUnits } from '@lifecycle/contracts';
import type { FastifyInstance, Runtime } from '@lifecycle/kit';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import type { Clock } from './domain/clock.ts';
import { conversionRate, liftOf } from './domain/lift.ts';

export interface MeasurementApiOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  clock: Clock;
  settings: CampaignSettings;
}

/** A duration as ISO 8601 (`P180D`, `PT36H`, `PT90M`, `PT45S`), as it is written in `_settings.yaml`. */
export function isoDuration(ms: number): string {
  const day = 86_400_000;
  if (ms % day === 0) return `P${ms / day}D`;
  if (ms % 3_600_000 === 0) return `PT${ms / 3_600_000}H`;
  if (ms % 60_000 === 0) return `PT${ms / 60_000}M`;
  return `PT${ms / 1000}S`;
}

interface GroupFigures {
  customers: number;
  converted: number;
  conversionRate: number;
  revenuePerCustomer: Record<string, number>;
}

/**
 * A group of customers (a query of `customer_id`s) and their conversions in any campaign. An order
 * that converted for two campaigns counts once in the revenue.
 */
async function groupFigures(runtime: Runtime, members: SQL): Promise<GroupFigures> {
  const { rows } = await runtime.db.execute<{ customers: string; converted: string }>(sql`
    WITH g AS (${members})
    SELECT (SELECT count(*) FROM g) AS customers,
           (SELECT count(DISTINCT c.customer_id) FROM scheduler.conversions c WHERE c.customer_id IN (SELECT customer_id FROM g)) AS converted`);
  const { rows: revenue } = await runtime.db.execute<{ currency: string; minor: string }>(sql`
    WITH g AS (${members}),
      orders AS (
        SELECT DISTINCT ON (c.customer_id, c.goal_event_id) c.currency, c.revenue_minor
        FROM scheduler.conversions c WHERE c.customer_id IN (SELECT customer_id FROM g) AND c.currency IS NOT NULL AND c.revenue_minor IS NOT NULL
        ORDER BY c.customer_id, c.goal_event_id, c.campaign_id)
    SELECT currency, sum(revenue_minor)::text AS minor FROM orders GROUP BY currency ORDER BY currency`);
  const customers = Number(rows[0]?.customers ?? 0);
  const converted = Number(rows[0]?.converted ?? 0);
  return {
    customers,
    converted,
    conversionRate: conversionRate({ customers, converted }),
    revenuePerCustomer: Object.fromEntries(
      revenue.map((r) => [r.currency, customers === 0 ? 0 : Math.round((toMajorUnits({ amountMinor: Number(r.minor), currency: r.currency }) / customers) * 100) / 100]),
    ),
  };
}

/** The programme's lift (mailed against the global control) and the sunset's counts. */
export function registerMeasurementApi(app: FastifyInstance, opts: MeasurementApiOptions): void {
  const { runtime, settings } = opts;

  app.get('/programme/stats', async () => {
    const [mailed, control] = await Promise.all([
      groupFigures(runtime, sql`SELECT DISTINCT customer_id FROM scheduler.jobs WHERE category = 'marketing' AND status = 'sent'`),
      groupFigures(runtime, sql`SELECT DISTINCT customer_id FROM scheduler.jobs WHERE status = 'held_out' AND skip_reason = 'global_control'`),
    ]);
    return { globalControlPercent: settings.globalControl.percent, mailed, control, lift: liftOf(mailed, control) };
  });

  app.get('/sunset/stats', async () => {
    const sunset = settings.sunset;
    const now = opts.clock.now().toISOString();
    const { rows } = await runtime.db.execute<{ sunset: string; reengaged: string; sent: string }>(sql`
      SELECT (SELECT count(*) FROM scheduler.contacts WHERE sunset_at <= ${now}::timestamptz) AS sunset,
             (SELECT count(*) FROM scheduler.contacts WHERE re_permission_sent_at IS NOT NULL AND last_engaged_at >= re_permission_sent_at) AS reengaged,
             (SELECT count(DISTINCT customer_id) FROM scheduler.jobs WHERE campaign_id = ${sunset?.campaign ?? ''} AND status = 'sent') AS sent`);
    const row = rows[0];
    return {
      enabled: sunset !== undefined,
      after: sunset === undefined ? null : isoDuration(sunset.after),
      grace: sunset === undefined ? null : isoDuration(sunset.grace),
      campaign: sunset?.campaign ?? null,
      /** Customers whose marketing has stopped now. */
      sunset: Number(row?.sunset ?? 0),
      /** Customers sent the re-permission mail. */
      rePermissionSent: Number(row?.sent ?? 0),
      /** Customers who opened or clicked after their re-permission mail. */
      reengaged: Number(row?.reengaged ?? 0),
    };
  });
}
