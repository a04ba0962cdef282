import { and, asc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { inTransaction, type Component, type Outbox, type Runtime } from '@lifecycle/kit';
import type { CurrencyRates, MessageRequested } from '@lifecycle/contracts';
import { contactFromRow, eventTimes, saveContacts } from './db/contacts-repository.ts';
import { contacts, jobs } from './db/schema.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import { firingNow, type Clock, type FiringHorizon } from './domain/clock.ts';
import type { StoredContact } from './domain/contact-state.ts';
import { decideAtDue, type FireDecision } from './domain/fire-decision.ts';
import { planOccasion, type PlannedJob } from './domain/planning.ts';
import { planRePermission, rePermissionCampaign, sunsetAfterRePermission } from './domain/sunset.ts';
import { insertJobs } from './consumer.ts';
import { fireDueTimers } from './timers.ts';
import { defaultCatalogSettings, type CatalogSettings } from './db/catalog-repository.ts';
import { rebought, reboughtJobs, recommendationsForJobs } from './fire-recommendations.ts';

export interface JobRunnerOptions {
  runtime: Runtime;
  /** The scheduler's outbox: requests and fired timers are written with the decision and published after it commits. */
  outbox: Outbox;
  clock: Clock;
  /** How far jobs may fire and as of when each is judged (a simulated clock's walk); default: all due by now, judged now. */
  firing?: () => FiringHorizon;
  campaigns: Campaign[];
  settings: CampaignSettings;
  /** The store's exchange rates: a recommendation without a price in the customer's currency is converted with them. */
  rates?: CurrencyRates | undefined;
  /** How the product catalog learns (learned recommendations, reorder intervals). */
  catalog?: CatalogSettings | undefined;
  /** How often due jobs are looked for. */
  pollMs: number;
  /** Jobs claimed per transaction. */
  batchSize?: number;
  /** Batches claimed side by side (each its own transaction; SKIP LOCKED keeps them apart). */
  workers?: number;
}

/** A component: once started it looks for due jobs every `pollMs`; `stop` waits for the run in progress. */
export interface JobRunner extends Component {
  /** Fires every job and timer due now; resolves with how many were settled. Runs one at a time. */
  runDue: () => Promise<number>;
  stop: () => Promise<void>;
}

type Job = typeof jobs.$inferSelect;

/** The request messaging gets: the template data is a snapshot taken now, when the message is due. */
export function messageRequest(job: Job, campaign: Campaign, contact: StoredContact & { email: string }, now: Date): MessageRequested {
  const variant = campaign.variants?.find((v) => v.id === job.variant);
  return {
    id: `message:${job.dedupeKey}`,
    type: 'message.requested',
    version: 1,
    occurredAt: now.toISOString(),
    customerId: job.customerId,
    causationId: job.triggerEventId,
    payload: {
      dedupeKey: job.dedupeKey,
      campaignId: campaign.id,
      templateId: variant?.template ?? campaign.template,
      ...(job.variant !== null ? { variant: job.variant } : {}),
      ...(campaign.topic !== undefined ? { topic: campaign.topic } : {}),
      category: campaign.category,
      recipient: { email: contact.email, ...(contact.name !== null ? { name: contact.name } : {}) },
      locale: contact.locale ?? 'en',
      timeZone: contact.timeZone ?? 'UTC',
      ...(campaign.offer !== undefined ? { offer: campaign.offer } : {}),
      data: {
        ...dataFor(campaign, contact.locale),
        customer: { id: job.customerId, email: contact.email, firstName: contact.firstName, name: contact.name },
        campaign: { id: campaign.id, ...(job.variant !== null ? { variant: job.variant } : {}) },
        ...job.triggerData,
      },
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function overlay(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isRecord(current) && isRecord(value) ? overlay(current, value) : value;
  }
  return out;
}

/** The campaign's fixed data, with the translation for the customer's locale (`ja-JP` → `ja-jp`, then `ja`) laid over it. */
export function dataFor(campaign: Campaign, locale: string | null): Record<string, unknown> {
  const base = campaign.data ?? {};
  if (locale === null || campaign.localizedData === undefined) return base;
  const tag = locale.toLowerCase();
  const language = tag.split('-')[0] ?? tag;
  const translation = campaign.localizedData[tag] ?? campaign.localizedData[language];
  return translation === undefined ? base : overlay(base, translation);
}

function statusAfter(decision: FireDecision): string {
  switch (decision.kind) {
    case 'send':
      return 'sent';
    case 'defer':
      return 'pending';
    case 'skip':
      return 'skipped';
    case 'hold_out':
      return 'held_out';
    case 'cancel':
      return 'cancelled';
  }
}

interface BatchOutcome {
  claimed: number;
  settled: number;
  /** Jobs left pending because another transaction held their customer. */
  busy: number;
  /**
   * Jobs deferred to a send window that opens by the firing's end (a walked clock judges a job as
   * of its due instant, so a job due at 03:00 opens at 09:00 of the same walked day): due again now.
   */
  dueAgain: number;
}

interface Settled {
  job: Job;
  decision: FireDecision;
  /** The instant the decision was made as of. */
  at: Date;
}

/** A share of the customers (by a hash of the id) that one firing worker takes. */
interface Lane {
  index: number;
  count: number;
}

/**
 * Fires due jobs. Each batch is claimed with FOR UPDATE SKIP LOCKED together with its customers'
 * contact rows, and its `messages.requested` records are written to the outbox in the same
 * transaction that marks the jobs, so replicas never fire a job twice and a customer's frequency
 * cap is counted by one replica at a time. The outbox relay publishes after the commit: a batch
 * that rolls back requests nothing, and no row stays locked while Kafka is slow. A relay crash
 * before it deletes what it published sends a request again with the same dedupe key, which
 * messaging drops.
 */
export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const { runtime, clock, settings, outbox } = opts;
  const firing = opts.firing ?? (() => firingNow(clock));
  const { logger } = runtime;
  const batchSize = opts.batchSize ?? 500;
  const workers = Math.max(1, opts.workers ?? 2);
  const campaigns = new Map(opts.campaigns.map((c) => [c.id, c]));
  // The events whose last time a decision reads: conditions, and exits that match on no property.
  const conditionEvents = [
    ...new Set(opts.campaigns.flatMap((c) => [...(c.conditions?.noEventSince ?? []), ...(c.exitOn ?? []).filter((e) => Object.keys(e.match ?? {}).length === 0).map((e) => e.event)])),
  ];
  const rePermission = rePermissionCampaign(opts.campaigns, settings);
  // Marketing sends are read this far back: the frequency cap's window, or the longest gap a customer's frequency choice asks for (monthly).
  const sendsLookBack = Math.max(settings.frequencyCap?.per ?? 0, 30 * 86_400_000);
  let chain: Promise<number> = Promise.resolve(0);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** Claims and settles one batch; `claimed` tells the caller whether more may be waiting. */
  const fireBatch = async (lane?: Lane): Promise<BatchOutcome> => {
    const { until, asOfDue } = firing();
    // A walked clock judges each job as of the instant it came due (never before its trigger: a
    // job due "today at 10:00" planned at 16:00 came due when planned); a running one, now.
    const judgedAt = (job: Job): Date => (asOfDue ? new Date(Math.max(job.dueAt.getTime(), job.triggerAt.getTime())) : until);
    return inTransaction(runtime.pool, async (tx) => {
      const due = await tx
        .select()
        .from(jobs)
        .where(and(eq(jobs.status, 'pending'), lte(jobs.dueAt, until), lane === undefined ? undefined : sql`(hashtext(${jobs.customerId}) & 2147483647) % ${lane.count} = ${lane.index}`))
        // Ties in a set order (jobs_pending_due_idx): which of a customer's jobs due at one instant the
        // frequency cap lets through depends on the jobs, not on the order their rows were written.
        .orderBy(asc(jobs.dueAt), asc(jobs.triggerAt), asc(jobs.campaignId), asc(jobs.dedupeKey))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      if (due.length === 0) return { claimed: 0, settled: 0, busy: 0, dueAgain: 0 };
      const earliest = asOfDue ? new Date(Math.min(...due.map((j) => judgedAt(j).getTime()))) : until;
      const customerIds = [...new Set(due.map((j) => j.customerId))].sort();
      // A customer another transaction holds (an event being planned, another replica) waits for the next round.
      const locked = await tx.select().from(contacts).where(inArray(contacts.customerId, customerIds)).orderBy(asc(contacts.customerId)).for('update', { skipLocked: true });
      const known = new Map(locked.map((row) => [row.customerId, contactFromRow(row)]));
      const unlocked = customerIds.filter((id) => !known.has(id));
      const busy = new Set(
        unlocked.length === 0 ? [] : (await tx.select({ id: contacts.customerId }).from(contacts).where(inArray(contacts.customerId, unlocked))).map((r) => r.id),
      );
      const ready = due.filter((j) => !busy.has(j.customerId));
      const lastEvents = await eventTimes(tx, [...known.keys()], conditionEvents);
      const sentAt = new Map<string, Date[]>();
      if (known.size > 0) {
        const recent = await tx
          .select({ customerId: jobs.customerId, firedAt: jobs.firedAt })
          .from(jobs)
          .where(and(inArray(jobs.customerId, [...known.keys()]), eq(jobs.status, 'sent'), eq(jobs.category, 'marketing'), gt(jobs.firedAt, new Date(earliest.getTime() - sendsLookBack))));
        for (const r of recent) if (r.firedAt !== null) sentAt.set(r.customerId, [...(sentAt.get(r.customerId) ?? []), r.firedAt]);
      }

      // Learned recommendations for the batch's jobs, and replenishments whose product was bought again, read once.
      const catalogAt = asOfDue ? earliest : until;
      const recommended = await recommendationsForJobs(tx, ready, campaigns, known, { settings, rates: opts.rates, catalog: opts.catalog ?? defaultCatalogSettings, now: catalogAt });
      const reordered = await reboughtJobs(tx, ready, campaigns);
      const settled: Settled[] = [];
      const requests: MessageRequested[] = [];
      const next: PlannedJob[] = [];
      /** Contacts whose sunset fields a send changed: saved with the batch. */
      const touched = new Map<string, StoredContact>();
      for (const job of ready) {
        const campaign = campaigns.get(job.campaignId);
        const contact = known.get(job.customerId) ?? null;
        const now = judgedAt(job);
        const decision = rebought(
          decideAtDue({
          campaign,
          job,
          contact,
          lastEventAt: (event) => lastEvents.get(job.customerId)?.get(event) ?? null,
          marketingSentAt: sentAt.get(job.customerId) ?? [],
          settings,
          now,
        }),
          reordered.has(job.dedupeKey),
          job,
        );
        settled.push({ job, decision, at: now });
        if (decision.kind === 'send' && campaign !== undefined && contact?.email != null) {
          const recommendations = recommended.get(job.dedupeKey);
          const withData = recommendations === undefined ? job : { ...job, triggerData: { ...job.triggerData, recommendations } };
          requests.push(messageRequest(withData, campaign, { ...contact, email: contact.email }, now));
          if (job.category === 'marketing') sentAt.set(job.customerId, [...(sentAt.get(job.customerId) ?? []), now]);
          if (rePermission !== undefined && job.category === 'marketing') {
            if (campaign.id === rePermission.id) {
              // The re-permission mail went: unless an open, click or new subscription comes within the grace, marketing stops then.
              const after = { ...contact, rePermissionSentAt: now, sunsetAt: sunsetAfterRePermission(settings, now) };
              known.set(job.customerId, after);
              touched.set(job.customerId, after);
            } else if (contact.lastEngagedAt === null) {
              // A customer who never opened or clicked is inactive from their first marketing mail (see domain/sunset.ts).
              const plan = planRePermission(rePermission, settings, contact, now, 'never-engaged');
              if (plan !== null) next.push(plan);
            }
          }
        }
        // A yearly message, sent, skipped or held out, plans next year's.
        if ((decision.kind === 'send' || decision.kind === 'skip' || decision.kind === 'hold_out') && campaign !== undefined && 'date' in campaign.trigger && contact !== null) {
          const plan = planOccasion(campaign, contact, settings, new Date(Math.max(job.triggerAt.getTime(), job.dueAt.getTime()) + 1));
          if (plan !== null) next.push(plan);
        }
      }
      await outbox.enqueue(tx, 'messagesRequested', requests);
      if (settled.length > 0) {
        // The batch's outcomes as one JSON parameter: no query building per value.
        const rows = settled.map(({ job, decision, at }) => ({
          key: job.dedupeKey,
          status: statusAfter(decision),
          // A held-out job names its control group where a skipped one names its reason.
          reason: decision.kind === 'skip' || decision.kind === 'cancel' ? decision.reason : decision.kind === 'hold_out' ? decision.group : null,
          detail: decision.kind === 'skip' || (decision.kind === 'cancel' && decision.reason === 'exit') ? decision.detail : null,
          due_at: decision.kind === 'defer' ? decision.until : job.dueAt,
          deferred: decision.kind === 'defer' ? 1 : 0,
          fired_at: decision.kind === 'defer' ? null : at,
        }));
        await tx.execute(sql`
          UPDATE scheduler.jobs AS j
          SET status = u.status, skip_reason = u.reason, skip_detail = u.detail, due_at = u.due_at, deferrals = j.deferrals + u.deferred,
              fired_at = u.fired_at
          FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS u(key text, status text, reason text, detail text, due_at timestamptz, deferred int, fired_at timestamptz)
          WHERE j.dedupe_key = u.key`);
      }
      await insertJobs(tx, next, logger, (key) => (key.startsWith(`${rePermission?.id ?? ''}:`) ? 'inactive' : 'next-year'));
      if (touched.size > 0) await saveContacts(tx, touched.values());
      for (const { job, decision } of settled) {
        const fields = { customerId: job.customerId, campaignId: job.campaignId, dedupeKey: job.dedupeKey };
        if (decision.kind === 'send') logger.info(fields, 'message requested');
        else if (decision.kind === 'defer') logger.info({ ...fields, until: decision.until.toISOString() }, 'message deferred to the send window');
        else if (decision.kind === 'hold_out') logger.info({ ...fields, group: decision.group }, 'message held out (control group)');
        else logger.info({ ...fields, status: decision.kind, reason: decision.reason }, 'job not sent');
      }
      const dueAgain = settled.filter(({ decision }) => decision.kind === 'defer' && decision.until.getTime() <= until.getTime()).length;
      return { claimed: due.length, settled: settled.length, busy: due.length - ready.length, dueAgain };
    });
  };

  /**
   * Fires batches, starting with the outcome of one already fired (or none), until none is
   * left. A customer whose row another transaction holds (an event being applied) is tried
   * again shortly, so a run ends with everything due fired, not only what was free at the time;
   * so is a job a batch deferred to a send window that opened by then.
   */
  const drainJobs = async (first: BatchOutcome | null, lane?: Lane): Promise<number> => {
    let total = 0;
    let outcome = first;
    for (let waits = 0; ; outcome = null) {
      const { claimed, settled, busy, dueAgain } = outcome ?? (await fireBatch(lane));
      total += settled;
      if (dueAgain > 0) continue;
      if (claimed < batchSize || settled === 0) {
        if (busy === 0 || waits++ >= 40 || stopped) return total;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  };

  const fireAllDue = async (): Promise<number> => {
    const first = await fireBatch();
    // A full batch means a backlog: the other workers join, so that while one waits for the
    // database another builds its batch. Otherwise (most runs) one claim is all it takes. Each
    // worker takes the customers of its own lane (a hash of the id), so a customer's jobs are
    // judged by one worker in due order: with workers taking the next batches side by side, a
    // customer whose two mails fell in neighbouring batches had the later one judged first
    // whenever its worker locked the contact first, and the frequency cap let the other through
    // (two demo runs of one seed differed by it, 2026-12-08).
    const lanes = first.claimed === batchSize ? workers : 1;
    const drained = await Promise.allSettled(Array.from({ length: lanes }, (_, index) => drainJobs(index === 0 ? first : null, lanes === 1 ? undefined : { index, count: lanes })));
    let total = 0;
    for (const d of drained) {
      if (d.status === 'rejected') throw d.reason;
      total += d.value;
    }
    for (;;) {
      const settled = await fireDueTimers(runtime, outbox, firing().until, batchSize);
      total += settled;
      if (settled < batchSize) return total;
    }
  };

  const runDue = (): Promise<number> => {
    const next = chain.then(fireAllDue, fireAllDue);
    chain = next.catch((err: unknown) => {
      logger.error({ err }, 'firing due jobs failed');
      return 0;
    });
    return next;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      runDue()
        .catch(() => 0)
        .finally(schedule);
    }, opts.pollMs);
  };

  return {
    name: 'job runner',
    runDue,
    start: async () => {
      clearTimeout(timer);
      stopped = false;
      schedule();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await chain;
    },
  };
}
