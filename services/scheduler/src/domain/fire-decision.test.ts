import { emptyLedger } from '@lifecycle/contracts';
import { describe, expect, it } from 'vitest';
import { Campaign, CampaignSettings } from './campaign.ts';
import { decideAtDue, type DueContext } from './fire-decision.ts';
import type { ContactState } from './planning.ts';

const settings = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin', frequencyCap: { max: 2, per: 'P7D' } });

/** As a marketer writes campaigns/win-back.yaml. */
const winBackYaml = {
  id: 'win-back',
  name: 'Win-back',
  template: 'win-back',
  category: 'marketing',
  trigger: { stage: { entered: 'at_risk' } },
  delay: 'P7D',
  conditions: { noEventSince: ['Order Completed'], stageIn: ['at_risk'] },
  sendWindow: { from: '09:00', to: '20:00' },
};
const winBack = Campaign.parse(winBackYaml);

const shippingUpdate = Campaign.parse({
  id: 'shipping-update',
  name: 'Shipping update',
  template: 'shipping-update',
  category: 'transactional',
  trigger: { event: 'Order Shipped' },
});

const DAY = 86_400_000;
const triggerAt = new Date('2026-11-13T10:00:00Z');
// Friday 20 November 2026, 11:00 in Berlin.
const dueAt = new Date('2026-11-20T10:00:00Z');
const after = (base: Date, ms: number) => new Date(base.getTime() + ms);

function contact(overrides: Partial<ContactState> = {}): ContactState {
  return {
    customerId: 'cust-1',
    email: 'ada@example.com',
    firstName: 'Ada',
    name: 'Ada Lovelace',
    locale: 'en',
    timeZone: 'Europe/Berlin',
    stage: 'at_risk',
    unsubscribed: false,
    birthday: null,
    firstOrderDate: null,
    signupDate: null,
    orders: emptyLedger(),
    currency: 'EUR',
    lastOrder: null,
    ...overrides,
  };
}

/** A win-back message due now, for a customer who is still at risk and has nothing against it. */
function due(overrides: Partial<DueContext> = {}): DueContext {
  return {
    campaign: winBack,
    job: { dueAt, triggerAt, category: 'marketing' },
    contact: contact(),
    lastEventAt: () => null,
    marketingSentAt: [],
    settings,
    now: after(dueAt, 5 * 60_000),
    ...overrides,
  };
}

/** A shipping update (transactional, no window of its own) due now. */
function dueTransactional(overrides: Partial<DueContext> = {}): DueContext {
  return due({ campaign: shippingUpdate, job: { dueAt, triggerAt, category: 'transactional' }, ...overrides });
}

describe('a message that has come due', () => {
  it('is sent when nothing stands against it', () => {
    expect(decideAtDue(due())).toEqual({ kind: 'send' });
  });

  describe('1. campaign gone or switched off', () => {
    it('is cancelled when the campaign file is gone', () => {
      expect(decideAtDue(due({ campaign: undefined }))).toEqual({ kind: 'cancel', reason: 'campaign_disabled' });
    });

    it('is cancelled when the campaign is disabled, before any other check', () => {
      const disabled = Campaign.parse({ ...winBackYaml, enabled: false });
      expect(decideAtDue(due({ campaign: disabled }))).toEqual({ kind: 'cancel', reason: 'campaign_disabled' });
      expect(decideAtDue(due({ campaign: disabled, now: after(dueAt, 10 * DAY), contact: null }))).toEqual({ kind: 'cancel', reason: 'campaign_disabled' });
    });
  });

  describe('2. stale', () => {
    it('is skipped as stale when later than the store’s staleAfter (P3D)', () => {
      expect(decideAtDue(due({ now: after(dueAt, 3 * DAY + 60_000) }))).toEqual({
        kind: 'skip',
        reason: 'stale',
        detail: 'due 2026-11-20T10:00:00.000Z, 72 h late',
      });
    });

    it('is still sent exactly at the staleAfter limit', () => {
      // Monday 23 November, 11:00 in Berlin.
      expect(decideAtDue(due({ now: after(dueAt, 3 * DAY) }))).toEqual({ kind: 'send' });
    });

    it('follows the campaign’s own staleAfter over the store’s', () => {
      const shortLived = Campaign.parse({ ...winBackYaml, staleAfter: 'PT6H' });
      // 18:00 in Berlin, inside the window: 7 hours late.
      expect(decideAtDue(due({ campaign: shortLived, now: after(dueAt, 7 * 3_600_000) }))).toEqual({
        kind: 'skip',
        reason: 'stale',
        detail: 'due 2026-11-20T10:00:00.000Z, 7 h late',
      });
      expect(decideAtDue(due({ now: after(dueAt, 7 * 3_600_000) }))).toEqual({ kind: 'send' });
    });

    it('is reported stale rather than unreachable', () => {
      expect(decideAtDue(due({ now: after(dueAt, 4 * DAY), contact: contact({ email: null }) }))).toMatchObject({ kind: 'skip', reason: 'stale' });
    });
  });

  describe('3. no email address', () => {
    it('is skipped when the customer has no email or is unknown', () => {
      const noEmail = { kind: 'skip', reason: 'no_email', detail: 'no email address known' };
      expect(decideAtDue(due({ contact: contact({ email: null }) }))).toEqual(noEmail);
      expect(decideAtDue(due({ contact: null }))).toEqual(noEmail);
      expect(decideAtDue(dueTransactional({ contact: contact({ email: null, unsubscribed: true }) }))).toEqual(noEmail);
    });
  });

  describe('4. unsubscribed', () => {
    it('skips marketing to an unsubscribed customer', () => {
      expect(decideAtDue(due({ contact: contact({ unsubscribed: true }) }))).toEqual({
        kind: 'skip',
        reason: 'unsubscribed',
        detail: 'unsubscribed from marketing email',
      });
    });

    it('still sends transactional mail to an unsubscribed customer', () => {
      expect(decideAtDue(dueTransactional({ contact: contact({ unsubscribed: true }) }))).toEqual({ kind: 'send' });
    });

    it('is reported unsubscribed before any failed condition', () => {
      expect(decideAtDue(due({ contact: contact({ unsubscribed: true, stage: 'retention' }) }))).toMatchObject({ reason: 'unsubscribed' });
    });
  });

  describe('5. noEventSince', () => {
    it('skips when the customer ordered after the trigger', () => {
      const asked: string[] = [];
      const lastEventAt = (name: string) => {
        asked.push(name);
        return new Date('2026-11-15T12:00:00Z');
      };
      expect(decideAtDue(due({ lastEventAt }))).toEqual({ kind: 'skip', reason: 'condition', detail: 'Order Completed since the trigger' });
      expect(asked).toEqual(['Order Completed']);
    });

    it('sends when the last order was before the trigger (or at the same instant)', () => {
      expect(decideAtDue(due({ lastEventAt: () => new Date('2026-11-01T12:00:00Z') }))).toEqual({ kind: 'send' });
      expect(decideAtDue(due({ lastEventAt: () => triggerAt }))).toEqual({ kind: 'send' });
    });
  });

  describe('6. stageIn', () => {
    it('skips when the customer has left the stage', () => {
      expect(decideAtDue(due({ contact: contact({ stage: 'retention' }) }))).toEqual({
        kind: 'skip',
        reason: 'condition',
        detail: 'stage is retention, not at_risk',
      });
      expect(decideAtDue(due({ contact: contact({ stage: null }) }))).toEqual({ kind: 'skip', reason: 'condition', detail: 'stage is unknown, not at_risk' });
    });

    it('accepts any of the stages listed', () => {
      const either = Campaign.parse({ ...winBackYaml, conditions: { stageIn: ['at_risk', 'lapsed'] } });
      expect(decideAtDue(due({ campaign: either, contact: contact({ stage: 'lapsed' }) }))).toEqual({ kind: 'send' });
      expect(decideAtDue(due({ campaign: either, contact: contact({ stage: 'advocacy' }) }))).toMatchObject({ detail: 'stage is advocacy, not at_risk or lapsed' });
    });
  });

  describe('7. send window', () => {
    it('defers to 09:00 the next morning in the customer’s zone when due at night', () => {
      // 22:30 in Berlin → 09:00 CET on Saturday 21 November.
      expect(decideAtDue(due({ now: new Date('2026-11-20T21:30:00Z') }))).toEqual({ kind: 'defer', until: new Date('2026-11-21T08:00:00Z') });
      // 07:00 in New York → 09:00 EST the same day.
      expect(decideAtDue(due({ now: new Date('2026-11-20T12:00:00Z'), contact: contact({ timeZone: 'America/New_York' }) }))).toEqual({
        kind: 'defer',
        until: new Date('2026-11-20T14:00:00Z'),
      });
    });

    it('uses the store’s zone for a customer without one', () => {
      // 07:00 in Berlin → 09:00 CET.
      expect(decideAtDue(due({ now: new Date('2026-11-20T06:00:00Z'), contact: contact({ timeZone: null }) }))).toEqual({
        kind: 'defer',
        until: new Date('2026-11-20T08:00:00Z'),
      });
    });

    it('holds marketing without a window of its own to the store’s quiet hours, but not transactional mail', () => {
      const quiet = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin', defaultSendWindow: { from: '09:00', to: '20:00' } });
      const unwindowed = Campaign.parse({ id: 'newsletter', name: 'Newsletter', template: 'newsletter', category: 'marketing', trigger: { event: 'Signed Up' } });
      const night = new Date('2026-11-20T23:00:00Z');
      expect(decideAtDue(due({ campaign: unwindowed, settings: quiet, now: night }))).toEqual({ kind: 'defer', until: new Date('2026-11-21T08:00:00Z') });
      expect(decideAtDue(dueTransactional({ settings: quiet, now: night }))).toEqual({ kind: 'send' });
    });

    it('defers rather than counts against the cap while the window is closed', () => {
      const full = [after(dueAt, -DAY), after(dueAt, -2 * DAY)];
      expect(decideAtDue(due({ now: new Date('2026-11-20T21:30:00Z'), marketingSentAt: full }))).toMatchObject({ kind: 'defer' });
    });
  });

  describe('8. frequency cap (2 marketing messages per rolling 7 days)', () => {
    const now = after(dueAt, 5 * 60_000);
    const ago = (ms: number) => new Date(now.getTime() - ms);

    it('skips a third marketing message within 7 days', () => {
      expect(decideAtDue(due({ marketingSentAt: [ago(DAY), ago(6 * DAY)] }))).toEqual({
        kind: 'skip',
        reason: 'frequency_cap',
        detail: '2 marketing messages already in the window',
      });
      expect(decideAtDue(due({ marketingSentAt: [ago(DAY), ago(7 * DAY - 60_000)] }))).toMatchObject({ reason: 'frequency_cap' });
    });

    it('no longer counts sends 7 days old or older', () => {
      expect(decideAtDue(due({ marketingSentAt: [ago(DAY), ago(7 * DAY)] }))).toEqual({ kind: 'send' });
      expect(decideAtDue(due({ marketingSentAt: [ago(DAY), ago(8 * DAY), ago(30 * DAY)] }))).toEqual({ kind: 'send' });
    });

    it('sends one more when under the cap', () => {
      expect(decideAtDue(due({ marketingSentAt: [ago(DAY)] }))).toEqual({ kind: 'send' });
    });

    it('exempts transactional messages', () => {
      expect(decideAtDue(dueTransactional({ marketingSentAt: [ago(DAY), ago(2 * DAY), ago(3 * DAY)] }))).toEqual({ kind: 'send' });
    });

    it('applies no cap when the store sets none', () => {
      const uncapped = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin' });
      expect(decideAtDue(due({ settings: uncapped, marketingSentAt: [ago(DAY), ago(2 * DAY), ago(3 * DAY)] }))).toEqual({ kind: 'send' });
    });
  });

  describe('an exit that arrived before its job was planned', () => {
    const exiting = Campaign.parse({ ...winBackYaml, conditions: undefined, exitOn: [{ event: 'Order Completed' }, { event: 'Checkout Started', match: { checkout_id: 'checkout_id' } }] });
    const lastAt = (at: Date, event = 'Order Completed') => (e: string) => (e === event ? at : null);

    it('cancels the job when the exit happened after the trigger and by now', () => {
      expect(decideAtDue(due({ campaign: exiting, lastEventAt: lastAt(after(triggerAt, DAY)) }))).toEqual({
        kind: 'cancel',
        reason: 'exit',
        detail: 'Order Completed at 2026-11-14T10:00:00.000Z, after the trigger',
      });
    });

    it('does not cancel for an exit before the trigger, or after the instant judged (a walked clock ahead of it)', () => {
      expect(decideAtDue(due({ campaign: exiting, lastEventAt: lastAt(after(triggerAt, -DAY)) }))).toEqual({ kind: 'send' });
      expect(decideAtDue(due({ campaign: exiting, now: dueAt, lastEventAt: lastAt(after(dueAt, 60_000)) }))).toEqual({ kind: 'send' });
    });

    it('leaves exits that match on a trigger property to their arrival', () => {
      expect(decideAtDue(due({ campaign: exiting, lastEventAt: lastAt(after(triggerAt, DAY), 'Checkout Started') }))).toEqual({ kind: 'send' });
    });
  });
});

describe('decideAtDue: preferences, double opt-in, sunset and holdouts', () => {
  const offers = Campaign.parse({ ...winBackYaml, topic: 'offers' });
  const sunsetSettings = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin', frequencyCap: { max: 2, per: 'P7D' }, sunset: { after: 'P180D', grace: 'P14D', campaign: 're-permission' } });
  const rePermission = Campaign.parse({ id: 're-permission', name: 'Still there?', template: 're-permission', category: 'marketing', trigger: { engagement: 'inactive' } });

  it('skips a customer who has not confirmed the double opt-in, before anything else about marketing', () => {
    expect(decideAtDue(due({ contact: { ...contact({ unsubscribed: true }), consentState: 'unconfirmed' } }))).toMatchObject({ kind: 'skip', reason: 'unconfirmed' });
  });

  it('skips a campaign whose topic the customer left, and sends one of another topic', () => {
    const left = { ...contact(), topicsOptedOut: ['offers'] };
    expect(decideAtDue(due({ campaign: offers, contact: left }))).toMatchObject({ kind: 'skip', reason: 'topic_opt_out' });
    expect(decideAtDue(due({ campaign: Campaign.parse({ ...winBackYaml, topic: 'product-news' }), contact: left }))).toEqual({ kind: 'send' });
  });

  it('keeps a weekly customer to one marketing mail in 7 days and a monthly one in 30', () => {
    const weekly = { ...contact(), frequency: 'weekly' as const };
    expect(decideAtDue(due({ contact: weekly, marketingSentAt: [after(dueAt, -6 * DAY)] }))).toMatchObject({ kind: 'skip', reason: 'preference_frequency' });
    expect(decideAtDue(due({ contact: weekly, marketingSentAt: [after(dueAt, -7 * DAY)] }))).toEqual({ kind: 'send' });
    const monthly = { ...contact(), frequency: 'monthly' as const };
    expect(decideAtDue(due({ contact: monthly, marketingSentAt: [after(dueAt, -29 * DAY)] }))).toMatchObject({ kind: 'skip', reason: 'preference_frequency' });
    // Transactional mail is not marketing: the choice does not apply.
    expect(decideAtDue(due({ campaign: shippingUpdate, job: { dueAt, triggerAt, category: 'transactional' }, contact: monthly, marketingSentAt: [after(dueAt, -DAY)] }))).toEqual({ kind: 'send' });
  });

  it('skips marketing once the sunset is in force, but not before it, and never the re-permission mail', () => {
    const sunset = { ...contact(), sunsetAt: after(dueAt, -DAY) };
    expect(decideAtDue(due({ contact: sunset, settings: sunsetSettings }))).toMatchObject({ kind: 'skip', reason: 'sunset' });
    expect(decideAtDue(due({ contact: { ...contact(), sunsetAt: after(dueAt, DAY) }, settings: sunsetSettings }))).toEqual({ kind: 'send' });
    // The re-permission mail goes past the cap and the sunset.
    expect(decideAtDue(due({ campaign: rePermission, contact: sunset, settings: sunsetSettings, marketingSentAt: [after(dueAt, -DAY), after(dueAt, -2 * DAY)] }))).toEqual({ kind: 'send' });
    // Planned while the sunset was on, due after it was turned off: not sent.
    expect(decideAtDue(due({ campaign: rePermission, contact: contact(), settings }))).toEqual({ kind: 'cancel', reason: 'campaign_disabled' });
  });

  it('holds out only a customer who would otherwise have been mailed', () => {
    const control = CampaignSettings.parse({ storeTimeZone: 'Europe/Berlin', globalControl: { percent: 100 } });
    expect(decideAtDue(due({ settings: control }))).toEqual({ kind: 'hold_out', group: 'global_control' });
    expect(decideAtDue(due({ campaign: Campaign.parse({ ...winBackYaml, holdout: { percent: 100 } }) }))).toEqual({ kind: 'hold_out', group: 'holdout' });
    // Unsubscribed, or deferred to the window: not yet a customer who would have been mailed.
    expect(decideAtDue(due({ settings: control, contact: contact({ unsubscribed: true }) }))).toMatchObject({ kind: 'skip', reason: 'unsubscribed' });
    expect(decideAtDue(due({ settings: control, now: new Date('2026-11-20T22:00:00Z') }))).toMatchObject({ kind: 'defer' });
    expect(decideAtDue(due({ settings: control, campaign: shippingUpdate, job: { dueAt, triggerAt, category: 'transactional' } }))).toEqual({ kind: 'send' });
  });
});
