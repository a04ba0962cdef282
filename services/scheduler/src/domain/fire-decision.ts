import type { Campaign, CampaignSettings } from './campaign.ts';
import { withinFrequencyCap } from './frequency-cap.ts';
import { nextInWindow, zoneFor } from './local-time.ts';
import { windowFor, type ContactState } from './planning.ts';

/** Why a due message was not sent; these names are what `/campaigns/:id/stats` counts. */
export type SkipReason = 'stale' | 'no_email' | 'unsubscribed' | 'condition' | 'frequency_cap';

export type FireDecision =
  | { kind: 'send' }
  | { kind: 'defer'; until: Date }
  | { kind: 'skip'; reason: SkipReason; detail: string }
  | { kind: 'cancel'; reason: 'campaign_disabled' }
  | { kind: 'cancel'; reason: 'exit'; detail: string };

export interface DueJob {
  dueAt: Date;
  triggerAt: Date;
  category: Campaign['category'];
}

export interface DueContext {
  /** Undefined when the campaign's file is gone. */
  campaign: Campaign | undefined;
  job: DueJob;
  contact: ContactState | null;
  /** When the customer last did this event, for `conditions.noEventSince`. */
  lastEventAt: (event: string) => Date | null;
  /** Send times of the customer's marketing messages so far, for the frequency cap. */
  marketingSentAt: readonly Date[];
  settings: CampaignSettings;
  now: Date;
}

/**
 * What to do with a job that has come due. Everything that can change while a message waits is
 * checked here, not when it was planned: the campaign still on, the message not stale, the
 * customer reachable and subscribed, the conditions still true, the window open, the cap not hit.
 */
export function decideAtDue(ctx: DueContext): FireDecision {
  const { campaign, job, contact, now, settings } = ctx;
  if (campaign === undefined || !campaign.enabled) return { kind: 'cancel', reason: 'campaign_disabled' };
  // An exit usually cancels the job as it arrives; one that arrived before the job was planned
  // (another topic ahead of the trigger's, a walked clock) is caught here. Exits that match on
  // a trigger property need the event itself, and are left to arrival.
  for (const exit of campaign.exitOn ?? []) {
    if (Object.keys(exit.match ?? {}).length > 0) continue;
    const last = ctx.lastEventAt(exit.event);
    if (last !== null && last.getTime() > job.triggerAt.getTime() && last.getTime() <= now.getTime()) {
      return { kind: 'cancel', reason: 'exit', detail: `${exit.event} at ${last.toISOString()}, after the trigger` };
    }
  }
  const lateness = now.getTime() - job.dueAt.getTime();
  const staleAfter = campaign.staleAfter ?? settings.staleAfter;
  if (lateness > staleAfter) return { kind: 'skip', reason: 'stale', detail: `due ${job.dueAt.toISOString()}, ${Math.round(lateness / 3_600_000)} h late` };
  if (contact?.email == null) return { kind: 'skip', reason: 'no_email', detail: 'no email address known' };
  if (job.category === 'marketing' && contact.unsubscribed) return { kind: 'skip', reason: 'unsubscribed', detail: 'unsubscribed from marketing email' };
  const conditions = campaign.conditions;
  for (const event of conditions?.noEventSince ?? []) {
    const last = ctx.lastEventAt(event);
    if (last !== null && last.getTime() > job.triggerAt.getTime()) return { kind: 'skip', reason: 'condition', detail: `${event} since the trigger` };
  }
  if (conditions?.stageIn !== undefined && (contact.stage === null || !conditions.stageIn.includes(contact.stage))) {
    return { kind: 'skip', reason: 'condition', detail: `stage is ${contact.stage ?? 'unknown'}, not ${conditions.stageIn.join(' or ')}` };
  }
  const window = windowFor(campaign, settings);
  if (window !== undefined) {
    const open = nextInWindow(now, window, zoneFor(contact.timeZone, settings.storeTimeZone));
    if (open.getTime() > now.getTime()) return { kind: 'defer', until: open };
  }
  if (job.category === 'marketing' && !withinFrequencyCap(settings.frequencyCap, ctx.marketingSentAt, now)) {
    return { kind: 'skip', reason: 'frequency_cap', detail: `${settings.frequencyCap?.max ?? 0} marketing messages already in the window` };
  }
  return { kind: 'send' };
}
