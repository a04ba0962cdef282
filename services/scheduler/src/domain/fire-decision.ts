import type { ConsentState, MarketingFrequency } from '@lifecycle/contracts';
import type { Campaign, CampaignSettings } from './campaign.ts';
import { withinFrequencyCap } from './frequency-cap.ts';
import { holdoutGroupFor, type HoldoutGroup } from './holdout.ts';
import { nextInWindow, zoneFor } from './local-time.ts';
import { windowFor, type ContactState } from './planning.ts';

/** Why a due message was not sent; these names are what `/campaigns/:id/stats` counts. */
export type SkipReason = 'stale' | 'no_email' | 'unsubscribed' | 'unconfirmed' | 'topic_opt_out' | 'preference_frequency' | 'condition' | 'frequency_cap' | 'sunset';

export type FireDecision =
  | { kind: 'send' }
  /** Would have been sent, but the customer is in a control group: nothing goes, and the job is measured. */
  | { kind: 'hold_out'; group: HoldoutGroup }
  | { kind: 'defer'; until: Date }
  | { kind: 'skip'; reason: SkipReason; detail: string }
  | { kind: 'cancel'; reason: 'campaign_disabled' }
  | { kind: 'cancel'; reason: 'exit'; detail: string };

export interface DueJob {
  dueAt: Date;
  triggerAt: Date;
  category: Campaign['category'];
}

/** The contact with what consent's owner last said (preferences, double opt-in) and the sunset. */
export interface DueContact extends ContactState {
  consentState?: ConsentState | null;
  /** Topics the customer left in the preference center. */
  topicsOptedOut?: readonly string[];
  frequency?: MarketingFrequency;
  /** When marketing stops (or stopped) for want of opens and clicks; in force once passed. */
  sunsetAt?: Date | null;
}

/** The least time between two marketing mails a customer's frequency choice allows. */
const frequencyGapMs: Record<MarketingFrequency, number> = { any: 0, weekly: 7 * 86_400_000, monthly: 30 * 86_400_000 };

export interface DueContext {
  /** Undefined when the campaign's file is gone. */
  campaign: Campaign | undefined;
  job: DueJob;
  contact: DueContact | null;
  /** When the customer last did this event, for `conditions.noEventSince`. */
  lastEventAt: (event: string) => Date | null;
  /** Send times of the customer's marketing messages so far (at least the last 30 days), for the frequency cap and the customer's frequency choice. */
  marketingSentAt: readonly Date[];
  settings: CampaignSettings;
  now: Date;
}

/**
 * What to do with a job that has come due. Everything that can change while a message waits is
 * checked here, not when it was planned: the campaign still on, the message not stale, the
 * customer reachable and subscribed (and confirmed, and still in the campaign's topic, and not
 * mailed more often than they asked), the conditions still true, the window open, the cap not hit,
 * the customer not sunset. Last of all, a customer in a control group is held out: held-out
 * customers are exactly those who would otherwise have been mailed, so the groups compare.
 */
export function decideAtDue(ctx: DueContext): FireDecision {
  const { campaign, job, contact, now, settings } = ctx;
  if (campaign === undefined || !campaign.enabled) return { kind: 'cancel', reason: 'campaign_disabled' };
  // A re-permission mail planned while the sunset was on, due after it was turned off (or pointed at another campaign): not sent.
  if ('engagement' in campaign.trigger && settings.sunset?.campaign !== campaign.id) return { kind: 'cancel', reason: 'campaign_disabled' };
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
  // The re-permission mail asks about every topic and decides whether marketing goes on: no
  // topic, frequency choice, cap or sunset of its own keeps it back (consent still does).
  const rePermission = campaign.id === settings.sunset?.campaign;
  if (job.category === 'marketing') {
    if (contact.consentState === 'unconfirmed') return { kind: 'skip', reason: 'unconfirmed', detail: 'subscribed, but has not confirmed the double opt-in yet' };
    if (contact.unsubscribed) return { kind: 'skip', reason: 'unsubscribed', detail: 'unsubscribed from marketing email' };
    if (campaign.topic !== undefined && (contact.topicsOptedOut ?? []).includes(campaign.topic)) return { kind: 'skip', reason: 'topic_opt_out', detail: `left the topic ${campaign.topic}` };
    const gap = frequencyGapMs[contact.frequency ?? 'any'];
    const last = Math.max(-Infinity, ...ctx.marketingSentAt.map((t) => t.getTime()).filter((t) => t <= now.getTime()));
    if (!rePermission && gap > 0 && now.getTime() - last < gap) {
      return { kind: 'skip', reason: 'preference_frequency', detail: `asked for marketing ${contact.frequency ?? 'any'}; the last went ${new Date(last).toISOString()}` };
    }
  }
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
  if (job.category === 'marketing' && !rePermission && !withinFrequencyCap(settings.frequencyCap, ctx.marketingSentAt, now)) {
    return { kind: 'skip', reason: 'frequency_cap', detail: `${settings.frequencyCap?.max ?? 0} marketing messages already in the window` };
  }
  const sunsetAt = contact.sunsetAt ?? null;
  if (job.category === 'marketing' && !rePermission && sunsetAt !== null && sunsetAt.getTime() <= now.getTime()) {
    return { kind: 'skip', reason: 'sunset', detail: `no open or click after the re-permission mail; sunset since ${sunsetAt.toISOString()}` };
  }
  const group = holdoutGroupFor(campaign, settings, contact.customerId);
  if (group !== null) return { kind: 'hold_out', group };
  return { kind: 'send' };
}
