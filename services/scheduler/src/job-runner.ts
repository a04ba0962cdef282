import { and, asc, eq, inArray, lte } from 'drizzle-orm';
import { publish, type Runtime } from '@lifecycle/kit';
import type { MessageRequested } from '@lifecycle/contracts';
import { contacts, jobs } from './db/schema.ts';
import type { Campaign } from './domain/campaign.ts';
import type { Clock } from './domain/clock.ts';
import { fireDueTimers } from './timers.ts';

export interface JobRunnerOptions {
  runtime: Runtime;
  clock: Clock;
  campaigns: Campaign[];
  /** How often due jobs are looked for. */
  pollMs: number;
  /** Jobs claimed per transaction. */
  batchSize?: number;
}

export interface JobRunner {
  /** Fires every job and timer due now; resolves with how many were settled. Runs one at a time. */
  runDue: () => Promise<number>;
  start: () => void;
  stop: () => Promise<void>;
}

type Outcome = { status: 'sent'; request: MessageRequested } | { status: 'skipped' | 'cancelled'; reason: string };

/**
 * Fires due jobs. Each batch is claimed with FOR UPDATE SKIP LOCKED, published to
 * `messages.requested` and marked in the same transaction, so replicas never fire a job twice;
 * a crash between publish and commit re-fires it with the same dedupe key, which messaging drops.
 */
export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const { runtime, clock } = opts;
  const { db, producer, prefix, logger } = runtime;
  const batchSize = opts.batchSize ?? 100;
  const campaigns = new Map(opts.campaigns.map((c) => [c.id, c]));
  let chain: Promise<number> = Promise.resolve(0);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const fireBatch = async (): Promise<number> => {
    const now = clock.now();
    return db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(jobs)
        .where(and(eq(jobs.status, 'pending'), lte(jobs.dueAt, now)))
        .orderBy(asc(jobs.dueAt))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      if (due.length === 0) return 0;
      const customerIds = [...new Set(due.map((j) => j.customerId))];
      const known = new Map((await tx.select().from(contacts).where(inArray(contacts.customerId, customerIds))).map((c) => [c.customerId, c]));
      const outcomes = due.map((job): [typeof job, Outcome] => {
        const campaign = campaigns.get(job.campaignId);
        if (campaign === undefined || !campaign.enabled) return [job, { status: 'cancelled', reason: 'campaign_disabled' }];
        const contact = known.get(job.customerId);
        if (contact?.email == null) return [job, { status: 'skipped', reason: 'no_email' }];
        const request: MessageRequested = {
          id: `message:${job.dedupeKey}`,
          type: 'message.requested',
          version: 1,
          occurredAt: now.toISOString(),
          customerId: job.customerId,
          causationId: job.triggerEventId,
          payload: {
            dedupeKey: job.dedupeKey,
            campaignId: campaign.id,
            templateId: campaign.template,
            category: campaign.category,
            recipient: { email: contact.email, ...(contact.name !== null ? { name: contact.name } : {}) },
            locale: contact.locale ?? 'en',
            timeZone: contact.timeZone ?? 'UTC',
            data: {
              customer: { id: job.customerId, email: contact.email, firstName: contact.firstName, name: contact.name },
              ...job.triggerData,
            },
          },
        };
        return [job, { status: 'sent', request }];
      });
      await publish(producer, prefix, 'messagesRequested', outcomes.flatMap(([, o]) => (o.status === 'sent' ? [o.request] : [])));
      for (const [job, outcome] of outcomes) {
        await tx
          .update(jobs)
          .set({ status: outcome.status, firedAt: now, skipReason: outcome.status === 'sent' ? null : outcome.reason })
          .where(eq(jobs.dedupeKey, job.dedupeKey));
        const fields = { customerId: job.customerId, campaignId: job.campaignId, dedupeKey: job.dedupeKey };
        if (outcome.status === 'sent') logger.info(fields, 'message requested');
        else logger.warn({ ...fields, status: outcome.status, reason: outcome.reason }, 'job not sent');
      }
      return due.length;
    });
  };

  const fireAllDue = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const settled = await fireBatch();
      total += settled;
      if (settled < batchSize) break;
    }
    for (;;) {
      const settled = await fireDueTimers(runtime, clock.now(), batchSize);
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
    runDue,
    start: () => {
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
