import type { Campaign, Trigger } from './campaign.ts';

/** One job of the customer's for the campaign, as the jobs table holds it. */
export interface WhyJob {
  dedupeKey: string;
  status: string;
  skipReason: string | null;
  skipDetail: string | null;
  dueAt: Date;
  firedAt: Date | null;
  createdAt: Date;
  triggerAt: Date;
  /** How often the send window moved the job to a later time. */
  deferrals: number;
  variant: string | null;
}

/** What the scheduler knows of the customer; null when it has never seen them. */
export interface WhyContact {
  email: string | null;
  locale: string | null;
  timeZone: string | null;
  stage: string | null;
  unsubscribed: boolean;
  consentState: string | null;
  /** When consent's owner last changed it. */
  subscriptionAsOf: Date | null;
  birthday: string | null;
  firstOrderDate: string | null;
  signupDate: string | null;
}

export interface WhyInput {
  campaign: Campaign;
  contact: WhyContact | null;
  jobs: readonly WhyJob[];
  /** When the customer last did the campaign's trigger event, if it has one and they did. */
  lastTriggerEventAt: Date | null;
  now: Date;
}

export interface WhyFact {
  kind: 'campaign' | 'contact' | 'consent' | 'trigger' | 'job';
  text: string;
  /** ISO 8601 UTC, when the fact has a time. */
  at?: string;
}

export interface WhyAnswer {
  campaignId: string;
  answer: string;
  facts: WhyFact[];
}

/** `2026-03-02 09:00 UTC`: a time a person reads, exact to the minute. */
export function readableInstant(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const day = (at: Date): string => at.toISOString().slice(0, 10);

/** `2028-03-27 09:00 in Asia/Tokyo`: the instant as the customer lives it; null for an unknown zone. */
export function localInstant(at: Date, timeZone: string | null): string | null {
  if (timeZone === null) return null;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at).map((p) => [p.type, p.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} in ${timeZone}`;
  } catch {
    return null;
  }
}

const DAY_MS = 86_400_000;

/** A job not due yet: when, in the customer's zone, and how far off by the scheduler's clock. */
function notYetDue(job: WhyJob, timeZone: string | null, now: Date): string {
  const local = localInstant(job.dueAt, timeZone);
  const days = Math.ceil((job.dueAt.getTime() - now.getTime()) / DAY_MS);
  const when = local === null ? readableInstant(job.dueAt) : `${local} (${readableInstant(job.dueAt)})`;
  const deferred = job.deferrals === 0 ? '' : job.deferrals === 1 ? ' (the send window deferred it once)' : ` (the send window deferred it ${job.deferrals} times)`;
  return `Not sent yet: planned for ${when}${deferred}, ${days === 1 ? 'a day' : `${days} days`} after the scheduler's clock (${readableInstant(now)}).`;
}

const catalogTriggerText = {
  replenishment: 'a product the customer ordered is due again by its learned reorder interval',
  back_in_stock: 'a product the customer showed interest in is back in stock',
  price_drop: 'the price of a product the customer showed interest in drops',
} as const;

export function describeTrigger(trigger: Trigger): string {
  if ('event' in trigger) return `the customer does ${trigger.event}${trigger.where === undefined ? '' : ` (with ${Object.keys(trigger.where).join(', ')} matching)`}`;
  if ('stage' in trigger) return 'entered' in trigger.stage ? `the customer enters the ${trigger.stage.entered} stage` : `the customer leaves the ${trigger.stage.left} stage`;
  if ('date' in trigger) return `the customer's ${trigger.date.replace(/_/g, ' ')} comes round`;
  if ('catalog' in trigger) return catalogTriggerText[trigger.catalog];
  if ('engagement' in trigger) return 'the customer has not opened or clicked a mail for the sunset period (the re-permission mail)';
  return `the customer's lifetime spend reaches ${trigger.milestone.lifetimeSpend} ${trigger.milestone.currency}`;
}

const skipReasons: Record<string, string> = {
  stale: 'it was due too long ago when the scheduler got to it (stale)',
  no_email: 'the scheduler knows no email address for the customer',
  unsubscribed: 'the customer does not allow marketing email',
  condition: 'a condition of the campaign no longer held',
  frequency_cap: 'the customer had already had as many marketing emails as the frequency cap allows',
  unconfirmed: 'the customer has not confirmed their subscription (double opt-in) yet',
  topic_opt_out: "the customer left this campaign's topic in the preference center",
  preference_frequency: 'the customer asked for marketing email less often, and had one recently',
  sunset: 'the customer opened and clicked nothing for a long time, nor after the re-permission mail (sunset)',
};

const cancelReasons: Record<string, string> = {
  campaign_disabled: 'the campaign was disabled',
  exit: 'the customer did an exit event',
  rescheduled: 'a newer plan replaced it',
};

const withDetail = (text: string, detail: string | null): string => (detail === null || detail === '' ? text : `${text}: ${detail}`);

/** What happened to one job, in a sentence. */
export function describeJob(job: WhyJob): string {
  const fired = job.firedAt === null ? '' : ` (job fired at ${readableInstant(job.firedAt)})`;
  const times = job.deferrals === 1 ? 'once' : `${job.deferrals} times`;
  const deferred = job.deferrals > 0 ? `deferred ${times} by the send window (quiet hours), then ` : '';
  const wasDeferred = job.deferrals > 0 ? ` (the send window deferred it ${times})` : '';
  switch (job.status) {
    case 'pending':
      return `Planned: due at ${readableInstant(job.dueAt)}${wasDeferred}.`;
    case 'sent':
      return `Sent on ${day(job.firedAt ?? job.dueAt)}${fired}${wasDeferred}.`;
    case 'suppressed':
      return `Not sent: requested${fired}, then messaging held it back because the customer's consent did not allow it.`;
    case 'failed':
      return `Not sent: requested${fired}, then messaging could not send it (template error or refused by the provider).`;
    case 'skipped':
      return `Skipped: ${deferred}${withDetail(skipReasons[job.skipReason ?? ''] ?? `skipped (${job.skipReason ?? 'no reason recorded'})`, job.skipDetail)}${fired}.`;
    case 'held_out':
      return `Held out: the customer is in ${job.skipReason === 'global_control' ? "the programme's control group" : "the campaign's holdout"}, so no mail went and the job is measured for the lift${fired}.`;
    case 'cancelled':
      return `Cancelled before it was due: ${withDetail(cancelReasons[job.skipReason ?? ''] ?? (job.skipReason ?? 'no reason recorded'), job.skipDetail)}.`;
    default:
      return `Job ${job.status}.`;
  }
}

/** Why the trigger never planned a job for this customer, as far as the scheduler can tell. */
function notPlanned(input: WhyInput): string {
  const { campaign, contact, lastTriggerEventAt } = input;
  const { trigger } = campaign;
  if (!campaign.enabled) return 'Not planned: the campaign is disabled.';
  if (contact === null) return 'Not planned: the scheduler has never seen this customer.';
  if (campaign.category === 'marketing' && contact.unsubscribed) {
    return `Not planned: the customer does not allow marketing email (${contact.consentState ?? 'unsubscribed'}${contact.subscriptionAsOf === null ? '' : ` since ${day(contact.subscriptionAsOf)}`}).`;
  }
  if ('event' in trigger) {
    if (lastTriggerEventAt === null) return `Not planned: the customer never did ${trigger.event}.`;
    return `Not planned: the customer last did ${trigger.event} on ${day(lastTriggerEventAt)}, but no job came of it${trigger.where === undefined ? ' (it may have been historical, or before the campaign existed)' : ' (its properties did not match the trigger\'s filter, or it was historical)'}.`;
  }
  if ('stage' in trigger) {
    const target = 'entered' in trigger.stage ? trigger.stage.entered : trigger.stage.left;
    const verb = 'entered' in trigger.stage ? 'entered' : 'left';
    return `Not planned: the customer has not ${verb} the ${target} stage since the campaign started (stage now: ${contact.stage ?? 'unknown'}).`;
  }
  if ('date' in trigger) {
    const known = trigger.date === 'birthday' ? contact.birthday : trigger.date === 'signup_anniversary' ? contact.signupDate : contact.firstOrderDate;
    if (known === null) return `Not planned: the scheduler knows no date for the customer's ${trigger.date.replace(/_/g, ' ')}.`;
    return `Not planned yet: the customer's ${trigger.date.replace(/_/g, ' ')} (${known}) has no job on the schedule.`;
  }
  if ('catalog' in trigger) return `Not planned: no job yet; it is planned when ${catalogTriggerText[trigger.catalog]}.`;
  if ('engagement' in trigger) return 'Not planned: the customer has not been without opens and clicks long enough, or sunset is off.';
  return `Not planned: the customer's lifetime spend has not reached ${trigger.milestone.lifetimeSpend} ${trigger.milestone.currency}.`;
}

/**
 * Why a customer did or did not get a campaign, in plain language, from the customer's jobs for
 * it, the contact and the campaign's definition. The answer is about the latest job (by trigger
 * time); the facts list every job and what the answer rests on.
 */
export function explainCampaign(input: WhyInput): WhyAnswer {
  const { campaign, contact, now } = input;
  const jobs = [...input.jobs].sort((a, b) => a.triggerAt.getTime() - b.triggerAt.getTime() || a.createdAt.getTime() - b.createdAt.getTime());
  const facts: WhyFact[] = [
    { kind: 'campaign', text: `${campaign.name} (${campaign.category}) is ${campaign.enabled ? 'enabled' : 'disabled'}; it starts when ${describeTrigger(campaign.trigger)}.` },
  ];
  if (contact === null) facts.push({ kind: 'contact', text: 'The scheduler has no contact for this customer.' });
  else {
    facts.push({
      kind: 'contact',
      text: `Email ${contact.email === null ? 'unknown' : 'known'}, locale ${contact.locale ?? 'unknown'}, time zone ${contact.timeZone ?? 'unknown (the store’s is used)'}, stage ${contact.stage ?? 'unknown'}.`,
    });
    facts.push({
      kind: 'consent',
      text: `Marketing email ${contact.unsubscribed ? 'not allowed' : 'allowed'} (${contact.consentState ?? 'no word from consent’s owner yet'}).`,
      ...(contact.subscriptionAsOf === null ? {} : { at: contact.subscriptionAsOf.toISOString() }),
    });
  }
  if ('event' in campaign.trigger) {
    facts.push(
      input.lastTriggerEventAt === null
        ? { kind: 'trigger', text: `The customer never did ${campaign.trigger.event}.` }
        : { kind: 'trigger', text: `The customer last did ${campaign.trigger.event} at ${readableInstant(input.lastTriggerEventAt)}.`, at: input.lastTriggerEventAt.toISOString() },
    );
  }
  if ('date' in campaign.trigger && contact !== null) {
    const what = campaign.trigger.date.replace(/_/g, ' ');
    const known = campaign.trigger.date === 'birthday' ? contact.birthday : campaign.trigger.date === 'signup_anniversary' ? contact.signupDate : contact.firstOrderDate;
    facts.push({ kind: 'trigger', text: known === null ? `The scheduler knows no date for the customer's ${what}.` : `The customer's ${what}: ${known}.` });
  }
  for (const job of jobs) facts.push({ kind: 'job', text: `Triggered at ${readableInstant(job.triggerAt)}: ${describeJob(job)}`, at: job.triggerAt.toISOString() });
  const latest = jobs.at(-1);
  if (latest === undefined) return { campaignId: campaign.id, answer: notPlanned(input), facts };
  let answer = describeJob(latest);
  if (latest.status === 'pending') {
    answer = latest.dueAt.getTime() <= now.getTime() ? `${answer.slice(0, -1)}; it is due now and fires on the next run.` : notYetDue(latest, contact?.timeZone ?? null, now);
  }
  if (jobs.length > 1) answer = `${answer} (${jobs.length} jobs in all, the latest shown.)`;
  return { campaignId: campaign.id, answer, facts };
}
