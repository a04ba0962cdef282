import { createHash } from 'node:crypto';
import { desc, sql } from 'drizzle-orm';
import { inTransaction, type Logger, type Transaction } from '@lifecycle/kit';
import { insertJobs, type PlanningOptions } from './consumer.ts';
import { anyOf } from './db/any-of.ts';
import { contactFromRow } from './db/contacts-repository.ts';
import { contacts, reconciliations } from './db/schema.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import { planOccasion, type PlannedJob } from './domain/planning.ts';

/** Rows touched by a start-up pass, for the log. */
export interface StartupReport {
  cancelled: number;
  planned: number;
  /** The campaign set was the one last reconciled: nothing was read or written. */
  skipped: boolean;
}

/** Contacts planned per transaction: each page locks its contacts, plans in memory, writes twice. */
const PAGE = 2_000;
/** Serializes replicas starting side by side: the second waits, then finds the set reconciled. */
const LOCK_KEY = "hashtext('lifecycle-scheduler:reconciliation')";

const dateColumn = { birthday: 'birthday', first_order_anniversary: 'first_order_date', signup_anniversary: 'signup_date' } as const;

/** JSON with object keys sorted, so the same campaigns give the same text whatever built them. */
function canonical(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What the schedule depends on at start-up: every campaign's definition (enabled or not) and the settings. */
export function campaignSetFingerprint(campaigns: readonly Campaign[], settings: CampaignSettings): string {
  const sorted = [...campaigns].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return createHash('sha256').update(canonical({ campaigns: sorted, settings })).digest('hex');
}

/**
 * Plans one date campaign for a page of contacts that have no pending job of it, in one
 * transaction: the contacts are locked in customer-id order (as the consumers lock them, so the
 * two never deadlock), each gets its next occurrence, a pending job with another occurrence is
 * cancelled as `rescheduled` (a consumer may have planned one in between), and the plans are
 * stored in one statement. Returns the last customer id of the page and the jobs planned.
 */
async function planPage(tx: Transaction, campaign: Campaign, settings: CampaignSettings, after: string, now: Date, quiet: Logger): Promise<{ last: string | null; planned: number }> {
  if (!('date' in campaign.trigger)) return { last: null, planned: 0 };
  const column = sql.raw(`c.${dateColumn[campaign.trigger.date]}`);
  const { rows: ids } = await tx.execute<{ customer_id: string }>(sql`
    SELECT c.customer_id FROM scheduler.contacts c
    WHERE ${column} IS NOT NULL AND c.customer_id > ${after}
      AND NOT EXISTS (SELECT 1 FROM scheduler.jobs j WHERE j.customer_id = c.customer_id AND j.campaign_id = ${campaign.id} AND j.status = 'pending')
    ORDER BY c.customer_id
    LIMIT ${PAGE}`);
  const last = ids.at(-1)?.customer_id ?? null;
  if (last === null) return { last, planned: 0 };
  // Locked and read again: what a consumer committed meanwhile is what gets planned.
  const rows = await tx
    .select()
    .from(contacts)
    .where(anyOf(contacts.customerId, ids.map((r) => r.customer_id)))
    .orderBy(contacts.customerId)
    .for('update');
  const plans = rows.flatMap((row): PlannedJob[] => {
    const plan = planOccasion(campaign, contactFromRow(row), settings, now);
    return plan === null ? [] : [plan];
  });
  // Joined on the customer (its index), each with the one key to keep: a page costs what it touches.
  const keep = new Map(plans.map((p) => [p.customerId, p.dedupeKey]));
  const targets = JSON.stringify(rows.map((r) => ({ customer_id: r.customerId, keep: keep.get(r.customerId) ?? null })));
  await tx.execute(sql`
    UPDATE scheduler.jobs j SET status = 'cancelled', skip_reason = 'rescheduled', fired_at = ${now.toISOString()}::timestamptz
    FROM jsonb_to_recordset(${targets}::jsonb) AS x(customer_id text, keep text)
    WHERE j.customer_id = x.customer_id AND j.campaign_id = ${campaign.id} AND j.status = 'pending' AND j.dedupe_key IS DISTINCT FROM x.keep`);
  return { last, planned: await insertJobs(tx, plans, quiet, 'start-up') };
}

/**
 * At start-up, once per campaign set: cancels the pending jobs of campaigns that are disabled or
 * gone (campaign edits take effect on restart), and plans date campaigns for contacts that have
 * none pending (a birthday campaign added today reaches customers known before). The set last
 * reconciled is recorded with its fingerprint; a restart with the same files (or a second
 * replica) finds it and skips the pass, since the consumers and the runner keep the schedule in
 * line with an unchanged set. Replicas take a session lock, so one does the work and the others
 * wait for it. A pass cut short records nothing and is done again, harmlessly: plans are keyed.
 */
export async function reconcileAtStartup(opts: PlanningOptions): Promise<StartupReport> {
  const { pool, db, logger } = opts.runtime;
  const fingerprint = campaignSetFingerprint(opts.campaigns, opts.settings);
  const enabled = opts.campaigns.filter((c) => c.enabled).map((c) => c.id);
  const session = await pool.connect();
  try {
    await session.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
    const [latest] = await db.select({ fingerprint: reconciliations.fingerprint }).from(reconciliations).orderBy(desc(reconciliations.id)).limit(1);
    if (latest?.fingerprint === fingerprint) {
      logger.info({ fingerprint }, 'campaign set unchanged since the last reconciliation, skipped');
      return { cancelled: 0, planned: 0, skipped: true };
    }
    const began = performance.now();
    const now = opts.clock.now();
    const cancelled = await db.execute<{ n: number }>(sql`
      WITH gone AS (
        UPDATE scheduler.jobs SET status = 'cancelled', skip_reason = 'campaign_disabled', fired_at = ${now.toISOString()}::timestamptz
        WHERE status = 'pending' AND campaign_id <> ALL(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(enabled)}::jsonb)))
        RETURNING 1)
      SELECT count(*)::int AS n FROM gone`);
    // Each planned job is counted, not logged: a new birthday campaign plans one per customer.
    const quiet = logger.child({}, { level: 'warn' });
    let planned = 0;
    for (const campaign of opts.campaigns) {
      if (!campaign.enabled || !('date' in campaign.trigger)) continue;
      for (let after = ''; ; ) {
        const page = await inTransaction(pool, (tx) => planPage(tx, campaign, opts.settings, after, opts.clock.now(), quiet));
        planned += page.planned;
        if (page.last === null) break;
        after = page.last;
      }
    }
    const report = { cancelled: cancelled.rows[0]?.n ?? 0, planned, skipped: false };
    const tookMs = Math.round(performance.now() - began);
    await db.insert(reconciliations).values({ fingerprint, enabled, cancelled: report.cancelled, planned, tookMs });
    logger.info({ cancelled: report.cancelled, planned, tookMs, fingerprint }, 'campaigns reconciled at start-up');
    return report;
  } finally {
    await session.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`).catch(() => undefined);
    session.release();
  }
}
