import { describe, expect, it } from 'vitest';
import { Campaign } from './campaign.ts';
import { explainCampaign, type WhyContact, type WhyJob } from './why.ts';

const reviewRequest = Campaign.parse({
  id: 'review-request',
  name: 'Review request',
  template: 'review-request',
  category: 'marketing',
  trigger: { event: 'Order Delivered' },
  delay: 'P3D',
  sendWindow: { from: '09:00', to: '20:00' },
});
const winBack = Campaign.parse({ id: 'win-back', name: 'Win-back', template: 'win-back', category: 'marketing', trigger: { stage: { entered: 'at_risk' } }, delay: 'P7D' });
const birthday = Campaign.parse({ id: 'birthday', name: 'Birthday', template: 'birthday', category: 'marketing', trigger: { date: 'birthday' }, delay: { days: 0, at: '09:00' } });

const now = new Date('2026-03-30T12:00:00.000Z');
const contact: WhyContact = {
  email: 'kim@example.com',
  locale: 'de-DE',
  timeZone: 'Europe/Berlin',
  stage: 'retention',
  unsubscribed: false,
  consentState: 'subscribed',
  subscriptionAsOf: new Date('2026-01-05T08:00:00.000Z'),
  birthday: null,
  firstOrderDate: '2026-01-05',
  signupDate: null,
};

const job = (over: Partial<WhyJob>): WhyJob => ({
  dedupeKey: 'review-request:o-1',
  status: 'sent',
  skipReason: null,
  skipDetail: null,
  triggerAt: new Date('2026-03-20T10:00:00.000Z'),
  createdAt: new Date('2026-03-20T10:00:01.000Z'),
  dueAt: new Date('2026-03-23T10:00:00.000Z'),
  firedAt: new Date('2026-03-23T10:00:02.000Z'),
  deferrals: 0,
  variant: null,
  ...over,
});

describe('why a customer did or did not get a campaign', () => {
  it('says when it was sent and when the job fired', () => {
    const why = explainCampaign({ campaign: reviewRequest, contact, jobs: [job({})], lastTriggerEventAt: new Date('2026-03-20T10:00:00.000Z'), now });
    expect(why.campaignId).toBe('review-request');
    expect(why.answer).toBe('Sent on 2026-03-23 (job fired at 2026-03-23 10:00 UTC).');
    expect(why.facts).toContainEqual({ kind: 'trigger', text: 'The customer last did Order Delivered at 2026-03-20 10:00 UTC.', at: '2026-03-20T10:00:00.000Z' });
    expect(why.facts).toContainEqual({ kind: 'consent', text: 'Marketing email allowed (subscribed).', at: '2026-01-05T08:00:00.000Z' });
  });

  it('tells of quiet-hours deferrals before a skip, with the skip’s detail', () => {
    const skipped = job({ status: 'skipped', skipReason: 'condition', skipDetail: 'Order Completed since the trigger', deferrals: 2, firedAt: new Date('2026-03-24T07:00:00.000Z') });
    const why = explainCampaign({ campaign: reviewRequest, contact, jobs: [skipped], lastTriggerEventAt: new Date('2026-03-20T10:00:00.000Z'), now });
    expect(why.answer).toBe(
      'Skipped: deferred 2 times by the send window (quiet hours), then a condition of the campaign no longer held: Order Completed since the trigger (job fired at 2026-03-24 07:00 UTC).',
    );
  });

  it('answers about the latest job when there are several, and lists them all as facts', () => {
    const first = job({});
    const second = job({ dedupeKey: 'review-request:o-2', status: 'pending', triggerAt: new Date('2026-03-28T10:00:00.000Z'), createdAt: new Date('2026-03-28T10:00:00.000Z'), dueAt: new Date('2026-03-31T10:00:00.000Z'), firedAt: null, deferrals: 1 });
    const why = explainCampaign({ campaign: reviewRequest, contact, jobs: [second, first], lastTriggerEventAt: new Date('2026-03-28T10:00:00.000Z'), now });
    expect(why.answer).toBe("Not sent yet: planned for 2026-03-31 12:00 in Europe/Berlin (2026-03-31 10:00 UTC) (the send window deferred it once), a day after the scheduler's clock (2026-03-30 12:00 UTC). (2 jobs in all, the latest shown.)");
    expect(why.facts.filter((f) => f.kind === 'job').map((f) => f.at)).toEqual(['2026-03-20T10:00:00.000Z', '2026-03-28T10:00:00.000Z']);
  });

  it('says when a birthday mail not due yet goes out, in the customer’s zone, and which birthday the scheduler knows', () => {
    const tokyo = { ...contact, timeZone: 'Asia/Tokyo', birthday: '1990-03-27' };
    const planned = job({ dedupeKey: 'birthday:2027', status: 'pending', firedAt: null, triggerAt: new Date('2027-03-27T00:00:00.000Z'), dueAt: new Date('2027-03-27T00:00:00.000Z') });
    const why = explainCampaign({ campaign: birthday, contact: tokyo, jobs: [planned], lastTriggerEventAt: null, now });
    expect(why.answer).toBe("Not sent yet: planned for 2027-03-27 09:00 in Asia/Tokyo (2027-03-27 00:00 UTC), 362 days after the scheduler's clock (2026-03-30 12:00 UTC).");
    expect(why.facts).toContainEqual({ kind: 'trigger', text: "The customer's birthday: 1990-03-27." });
    // A zone the runtime does not know: the UTC instant alone.
    expect(explainCampaign({ campaign: birthday, contact: { ...tokyo, timeZone: 'Mars/Olympus' }, jobs: [planned], lastTriggerEventAt: null, now }).answer).toMatch(/^Not sent yet: planned for 2027-03-27 00:00 UTC, /);
  });

  it('says a pending job past its due time fires on the next run', () => {
    const late = job({ status: 'pending', firedAt: null, dueAt: new Date('2026-03-30T11:00:00.000Z') });
    expect(explainCampaign({ campaign: reviewRequest, contact, jobs: [late], lastTriggerEventAt: null, now }).answer).toBe('Planned: due at 2026-03-30 11:00 UTC; it is due now and fires on the next run.');
  });

  it('says messaging held back or failed a requested send', () => {
    expect(explainCampaign({ campaign: reviewRequest, contact, jobs: [job({ status: 'suppressed' })], lastTriggerEventAt: null, now }).answer).toBe(
      "Not sent: requested (job fired at 2026-03-23 10:00 UTC), then messaging held it back because the customer's consent did not allow it.",
    );
    expect(explainCampaign({ campaign: reviewRequest, contact, jobs: [job({ status: 'cancelled', skipReason: 'exit', skipDetail: 'Order Returned', firedAt: null })], lastTriggerEventAt: null, now }).answer).toBe(
      'Cancelled before it was due: the customer did an exit event: Order Returned.',
    );
  });

  it('without a job: the trigger event never happened', () => {
    const why = explainCampaign({ campaign: reviewRequest, contact, jobs: [], lastTriggerEventAt: null, now });
    expect(why.answer).toBe('Not planned: the customer never did Order Delivered.');
    expect(why.facts).toContainEqual({ kind: 'trigger', text: 'The customer never did Order Delivered.' });
  });

  it('without a job: the customer unsubscribed, or the campaign is disabled, or the customer is unknown', () => {
    const unsubscribed = { ...contact, unsubscribed: true, consentState: 'unsubscribed', subscriptionAsOf: new Date('2026-02-14T18:30:00.000Z') };
    expect(explainCampaign({ campaign: reviewRequest, contact: unsubscribed, jobs: [], lastTriggerEventAt: new Date('2026-03-20T10:00:00.000Z'), now }).answer).toBe(
      'Not planned: the customer does not allow marketing email (unsubscribed since 2026-02-14).',
    );
    expect(explainCampaign({ campaign: { ...reviewRequest, enabled: false }, contact, jobs: [], lastTriggerEventAt: null, now }).answer).toBe('Not planned: the campaign is disabled.');
    const unknown = explainCampaign({ campaign: reviewRequest, contact: null, jobs: [], lastTriggerEventAt: null, now });
    expect(unknown.answer).toBe('Not planned: the scheduler has never seen this customer.');
    expect(unknown.facts).toContainEqual({ kind: 'contact', text: 'The scheduler has no contact for this customer.' });
  });

  it('without a job: a stage never entered, a date not known', () => {
    expect(explainCampaign({ campaign: winBack, contact, jobs: [], lastTriggerEventAt: null, now }).answer).toBe(
      'Not planned: the customer has not entered the at_risk stage since the campaign started (stage now: retention).',
    );
    expect(explainCampaign({ campaign: birthday, contact, jobs: [], lastTriggerEventAt: null, now }).answer).toBe("Not planned: the scheduler knows no date for the customer's birthday.");
  });
});
