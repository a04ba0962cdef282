import { z } from 'zod';

/** The fields of each service's customer answer the timeline needs; anything else passes through. */
const iso = z.string().min(1);
export const ClassifierCustomer = z.looseObject({
  profile: z.looseObject({
    recentEvents: z.array(z.looseObject({ eventId: z.string(), type: z.string(), occurredAt: iso })).optional(),
  }),
  rfm: z.unknown().optional(),
  history: z.array(z.looseObject({ from: z.string().nullable(), to: z.string(), reason: z.unknown().optional(), eventId: z.string().nullable().optional(), occurredAt: iso })).default([]),
});
export type ClassifierCustomer = z.infer<typeof ClassifierCustomer>;

export const CustomerJobs = z.looseObject({
  jobs: z.array(
    z.looseObject({
      dedupeKey: z.string(),
      campaignId: z.string(),
      status: z.string(),
      skipReason: z.string().nullable().optional(),
      dueAt: iso.nullable().optional(),
      firedAt: iso.nullable().optional(),
      createdAt: iso.nullable().optional(),
    }),
  ),
});
export type CustomerJobs = z.infer<typeof CustomerJobs>;

export const CustomerMessages = z.looseObject({
  messages: z.array(
    z.looseObject({
      messageId: z.string(),
      campaignId: z.string().nullable().optional(),
      templateId: z.string().nullable().optional(),
      status: z.string(),
      sentAt: iso.nullable().optional(),
      openedAt: iso.nullable().optional(),
      clickedAt: iso.nullable().optional(),
    }),
  ),
});
export type CustomerMessages = z.infer<typeof CustomerMessages>;

export type TimelineKind = 'event' | 'stage' | 'job' | 'message';
export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  title: string;
  detail: string;
}

const kindOrder: Record<TimelineKind, number> = { event: 0, stage: 1, job: 2, message: 3 };

/**
 * One customer's story across the services, oldest first: the events the classifier saw, the
 * stage moves they caused, the scheduler's jobs and the messages sent. At one instant an event
 * comes before the move it caused, the job before its message.
 */
export function mergeTimeline(input: { customer: ClassifierCustomer | null; jobs: CustomerJobs['jobs']; messages: CustomerMessages['messages'] }): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const e of input.customer?.profile.recentEvents ?? []) entries.push({ at: e.occurredAt, kind: 'event', title: e.type, detail: `event ${e.eventId}` });
  for (const h of input.customer?.history ?? []) {
    const reason = typeof h.reason === 'string' ? h.reason : h.reason === undefined || h.reason === null ? '' : JSON.stringify(h.reason);
    entries.push({ at: h.occurredAt, kind: 'stage', title: `${h.from ?? 'new'} → ${h.to}`, detail: reason });
  }
  for (const j of input.jobs) {
    const at = j.firedAt ?? j.dueAt ?? j.createdAt;
    if (at === null || at === undefined) continue;
    entries.push({ at, kind: 'job', title: `${j.campaignId}: ${j.status}`, detail: j.skipReason ?? '' });
  }
  for (const m of input.messages) {
    if (m.sentAt === null || m.sentAt === undefined) continue;
    const seen = [m.openedAt ? 'opened' : '', m.clickedAt ? 'clicked' : ''].filter((s) => s !== '').join(', ');
    entries.push({ at: m.sentAt, kind: 'message', title: `${m.campaignId ?? m.templateId ?? 'message'}: ${m.status}`, detail: seen });
  }
  const time = (at: string): number => {
    const t = Date.parse(at);
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  return entries.sort((a, b) => time(a.at) - time(b.at) || kindOrder[a.kind] - kindOrder[b.kind]);
}
