import { describe, expect, it } from 'vitest';
import { decideConsent, marketingVerdictOf, noConsent, type Consent, type ConsentInput } from './consent.ts';

const t = (hour: number): Date => new Date(Date.UTC(2026, 10, 20, hour));
const subscribe = (hour: number): ConsentInput => ({ kind: 'subscribe', at: t(hour), source: 'email-subscribed-event' });
const unsubscribe = (hour: number): ConsentInput => ({ kind: 'unsubscribe', at: t(hour), source: 'unsubscribe-link' });
const bounce = (hour: number): ConsentInput => ({ kind: 'bounce', at: t(hour), source: 'sendgrid-webhook' });
const complaint = (hour: number): ConsentInput => ({ kind: 'complaint', at: t(hour), source: 'sendgrid-webhook' });
const lift = (hour: number): ConsentInput => ({ kind: 'lift', at: t(hour), source: 'operator' });

/** Applies inputs in order; returns the final consent and every published change. */
function run(inputs: ConsentInput[], from: Consent = noConsent) {
  let consent = from;
  const published: { state: string; sequence: number; marketingAllowed: boolean }[] = [];
  for (const input of inputs) {
    const decision = decideConsent(consent, input);
    if (decision.outcome === 'unchanged') continue;
    consent = decision.next;
    if (decision.outcome === 'changed') published.push({ state: decision.change.state, sequence: decision.change.sequence, marketingAllowed: decision.change.marketingAllowed });
  }
  return { consent, published };
}

describe('consent decisions', () => {
  it('publishes an unsubscribe as the first record, with sequence 1 and marketing not allowed', () => {
    const decision = decideConsent(noConsent, unsubscribe(10));
    expect(decision).toMatchObject({
      outcome: 'changed',
      change: { state: 'unsubscribed', marketingAllowed: false, consentAt: t(10), source: 'unsubscribe-link', sequence: 1, previousState: null },
    });
  });

  describe('ordering by consent time', () => {
    it('lifts an unsubscribe with a later re-subscription', () => {
      expect(run([unsubscribe(10), subscribe(12)]).published).toEqual([
        { state: 'unsubscribed', sequence: 1, marketingAllowed: false },
        { state: 'subscribed', sequence: 2, marketingAllowed: true },
      ]);
    });

    it('ignores a re-subscription that happened before the unsubscribe, however late it arrives', () => {
      const { consent, published } = run([unsubscribe(10), subscribe(9)]);
      expect(consent.state).toBe('unsubscribed');
      expect(published).toHaveLength(1);
      expect(decideConsent(run([unsubscribe(10)]).consent, subscribe(9))).toEqual({ outcome: 'unchanged', why: 'older' });
    });

    it('ends in the same state whatever order the same choices arrive in', () => {
      const inputs = [subscribe(8), unsubscribe(10), subscribe(12), unsubscribe(11)];
      const states = [inputs, [...inputs].reverse(), [inputs[2]!, inputs[0]!, inputs[3]!, inputs[1]!]].map((order) => run(order).consent.state);
      expect(states).toEqual(['subscribed', 'subscribed', 'subscribed']);
    });

    it('judges a re-subscription against the latest unsubscribe, not the first', () => {
      // Unsubscribed at 10 and again at 14: a subscription at 12 is older than the latest choice.
      expect(run([unsubscribe(10), unsubscribe(14), subscribe(12)]).consent.state).toBe('unsubscribed');
    });

    it('lets an unsubscribe win over a subscription at the same instant, in either order', () => {
      expect(run([subscribe(10), unsubscribe(10)]).consent.state).toBe('unsubscribed');
      expect(run([unsubscribe(10), subscribe(10)]).consent.state).toBe('unsubscribed');
    });
  });

  describe('idempotency', () => {
    it('changes nothing when the same input is applied again', () => {
      const once = run([unsubscribe(10)]).consent;
      expect(decideConsent(once, unsubscribe(10))).toEqual({ outcome: 'unchanged', why: 'same' });
      const bounced = run([bounce(10)]).consent;
      expect(decideConsent(bounced, bounce(10))).toEqual({ outcome: 'unchanged', why: 'same' });
    });

    it('records a repeated choice at a later time without publishing it again', () => {
      const decision = decideConsent(run([unsubscribe(10)]).consent, unsubscribe(11));
      expect(decision).toMatchObject({ outcome: 'recorded', next: { state: 'unsubscribed', sequence: 1, preferenceAt: t(11) } });
    });
  });

  describe('bounces and complaints stay until an operator lifts them', () => {
    it('keeps a hard bounce through a later Email Subscribed', () => {
      const { consent, published } = run([bounce(10), subscribe(12)]);
      expect(consent).toMatchObject({ state: 'bounced', preference: 'subscribed', block: 'bounced' });
      expect(published).toEqual([{ state: 'bounced', sequence: 1, marketingAllowed: false }]);
    });

    it('keeps a spam complaint through a later Email Subscribed', () => {
      expect(run([subscribe(8), complaint(10), subscribe(12)]).consent.state).toBe('complained');
    });

    it('lifts a bounce on the operator’s command, back to the customer’s own choice', () => {
      expect(run([bounce(10), lift(11)]).published.at(-1)).toEqual({ state: 'subscribed', sequence: 2, marketingAllowed: true });
      expect(run([unsubscribe(9), bounce(10), lift(11)]).published.at(-1)).toEqual({ state: 'unsubscribed', sequence: 3, marketingAllowed: false });
    });

    it('ignores a bounce from before the lift that arrives after it, but not a new one', () => {
      const lifted = run([bounce(10), lift(11)]).consent;
      expect(decideConsent(lifted, bounce(10))).toEqual({ outcome: 'unchanged', why: 'older' });
      expect(decideConsent(lifted, bounce(12))).toMatchObject({ outcome: 'changed', change: { state: 'bounced', sequence: 3 } });
    });

    it('lifts nothing for a customer who is not blocked', () => {
      expect(decideConsent(noConsent, lift(10))).toEqual({ outcome: 'unchanged', why: 'nothing-to-lift' });
      expect(decideConsent(run([unsubscribe(9)]).consent, lift(10))).toEqual({ outcome: 'unchanged', why: 'nothing-to-lift' });
    });

    it('a lift by an operator whose clock is behind the bounce still lifts it, and keeps older bounces out', () => {
      const lifted = run([bounce(10), lift(9)]).consent;
      expect(lifted).toMatchObject({ state: 'subscribed', block: null, blockAt: t(10) });
      expect(decideConsent(lifted, bounce(10))).toEqual({ outcome: 'unchanged', why: 'older' });
    });

    it('moves from bounced to complained on a later complaint', () => {
      expect(run([bounce(10), complaint(11)]).published.map((p) => p.state)).toEqual(['bounced', 'complained']);
    });
  });

  describe('preferences', () => {
    const save = (hour: number, topicsOptedOut: string[], frequency: 'any' | 'weekly' | 'monthly' = 'any', unsubscribeAll = false): ConsentInput => ({
      kind: 'preferences',
      at: t(hour),
      source: 'preference-center',
      topicsOptedOut,
      frequency,
      unsubscribeAll,
    });

    it('carries the defaults on every record until the customer saves any', () => {
      const decision = decideConsent(noConsent, unsubscribe(10));
      expect(decision).toMatchObject({ outcome: 'changed', change: { preferences: { topicsOptedOut: [], frequency: 'any', at: null } } });
    });

    it('publishes a save with the next sequence and the same state, carrying the choices', () => {
      const subscribed = run([subscribe(8)]).consent;
      const decision = decideConsent(subscribed, save(10, ['offers', 'anniversaries', 'offers'], 'weekly'));
      expect(decision).toMatchObject({
        outcome: 'changed',
        next: { topicsOptedOut: ['anniversaries', 'offers'], frequency: 'weekly', preferencesAt: t(10), state: 'subscribed' },
        change: { state: 'subscribed', previousState: 'subscribed', sequence: 2, source: 'preference-center', marketingAllowed: true, preferences: { topicsOptedOut: ['anniversaries', 'offers'], frequency: 'weekly', at: t(10) } },
      });
    });

    it('publishes the first save of a customer never asked as subscribed, as they were getting marketing mail', () => {
      expect(decideConsent(noConsent, save(10, ['offers']))).toMatchObject({ outcome: 'changed', change: { state: 'subscribed', previousState: null, sequence: 1, preferences: { topicsOptedOut: ['offers'] } } });
    });

    it('also unsubscribes from all marketing when that was ticked', () => {
      const decision = decideConsent(run([subscribe(8)]).consent, save(10, ['offers'], 'any', true));
      expect(decision).toMatchObject({ outcome: 'changed', change: { state: 'unsubscribed', marketingAllowed: false, preferences: { topicsOptedOut: ['offers'] } } });
    });

    it('changes nothing for the same choices again, and ignores a save older than the last', () => {
      const saved = run([subscribe(8), save(10, ['offers'])]).consent;
      expect(decideConsent(saved, save(11, ['offers']))).toEqual({ outcome: 'unchanged', why: 'same' });
      expect(decideConsent(saved, save(9, []))).toEqual({ outcome: 'unchanged', why: 'older' });
    });

    it('keeps the choices through later changes of state, on their records', () => {
      const decision = decideConsent(run([subscribe(8), save(10, ['offers'], 'monthly')]).consent, unsubscribe(12));
      expect(decision).toMatchObject({ outcome: 'changed', change: { state: 'unsubscribed', preferences: { topicsOptedOut: ['offers'], frequency: 'monthly', at: t(10) } } });
    });
  });

  describe('double opt-in', () => {
    const subscribeConfirming = (hour: number, eventId = `evt-${hour}`): ConsentInput => ({
      kind: 'subscribe',
      at: t(hour),
      source: 'email-subscribed-event',
      doubleOptIn: { eventId, ip: '203.0.113.7', userAgent: 'Mozilla/5.0' },
    });
    const confirm = (hour: number): ConsentInput => ({ kind: 'confirm', at: t(hour), source: 'double-opt-in', ip: '198.51.100.2', userAgent: 'Firefox' });

    it('holds a subscription as unconfirmed with its proof, and asks for the confirmation mail', () => {
      const decision = decideConsent(noConsent, subscribeConfirming(10));
      expect(decision).toMatchObject({
        outcome: 'changed',
        askConfirmation: true,
        next: { optIn: 'pending', optInProof: { subscribedAt: t(10).toISOString(), source: 'email-subscribed-event', eventId: 'evt-10', ip: '203.0.113.7', userAgent: 'Mozilla/5.0' } },
        change: { state: 'unconfirmed', marketingAllowed: false, sequence: 1 },
      });
    });

    it('asks for nothing when the same subscription is delivered again', () => {
      const pending = run([subscribeConfirming(10)]).consent;
      expect(decideConsent(pending, subscribeConfirming(10))).toEqual({ outcome: 'unchanged', why: 'same' });
    });

    it('subscribes on the confirmation click, keeping when and from where in the proof; a second click changes nothing', () => {
      const pending = run([subscribeConfirming(10)]).consent;
      const decision = decideConsent(pending, confirm(11));
      expect(decision).toMatchObject({
        outcome: 'changed',
        next: { optIn: 'confirmed', optInProof: { subscribedAt: t(10).toISOString(), ip: '203.0.113.7', confirmedAt: t(11).toISOString(), confirmIp: '198.51.100.2', confirmUserAgent: 'Firefox' } },
        change: { state: 'subscribed', previousState: 'unconfirmed', marketingAllowed: true, source: 'double-opt-in', sequence: 2 },
      });
      expect(decision).not.toHaveProperty('askConfirmation');
      if (decision.outcome === 'unchanged') return;
      expect(decideConsent(decision.next, confirm(12))).toEqual({ outcome: 'unchanged', why: 'same' });
    });

    it('confirms nothing for a customer who unsubscribed since, or was never asked', () => {
      expect(decideConsent(run([subscribeConfirming(10), unsubscribe(11)]).consent, confirm(12))).toEqual({ outcome: 'unchanged', why: 'nothing-to-confirm' });
      expect(decideConsent(run([subscribe(10)]).consent, confirm(12))).toEqual({ outcome: 'unchanged', why: 'nothing-to-confirm' });
    });

    it('does not ask a confirmed subscriber again, but asks again after they unsubscribed', () => {
      const confirmed = run([subscribeConfirming(10), confirm(11)]).consent;
      expect(decideConsent(confirmed, subscribeConfirming(12))).toMatchObject({ outcome: 'recorded', next: { optIn: 'confirmed', state: 'subscribed' } });
      const left = run([subscribeConfirming(10), confirm(11), unsubscribe(12)]).consent;
      expect(decideConsent(left, subscribeConfirming(13))).toMatchObject({ outcome: 'changed', askConfirmation: true, change: { state: 'unconfirmed' } });
    });

    it('leaves stores without double opt-in as they were: a subscription is subscribed', () => {
      expect(decideConsent(noConsent, subscribe(10))).toMatchObject({ outcome: 'changed', next: { optIn: null, optInProof: null }, change: { state: 'subscribed' } });
    });
  });

  describe('the last guard at send', () => {
    const none = { blockingState: null, addressSuppression: null, topic: undefined, topicsOptedOut: [] };

    it('suppresses a topic the customer left, and sends the others', () => {
      expect(marketingVerdictOf({ ...none, topic: 'offers', topicsOptedOut: ['offers'] })).toEqual({ allowed: false, reason: 'topic_opt_out' });
      expect(marketingVerdictOf({ ...none, topic: 'product-news', topicsOptedOut: ['offers'] })).toEqual({ allowed: true });
      // A message without a topic (re-permission) is not held back by topics.
      expect(marketingVerdictOf({ ...none, topicsOptedOut: ['offers'] })).toEqual({ allowed: true });
    });

    it('names the state that forbids marketing first: unconfirmed, unsubscribed, then an address suppression', () => {
      expect(marketingVerdictOf({ ...none, blockingState: 'unconfirmed', topic: 'offers', topicsOptedOut: ['offers'] })).toEqual({ allowed: false, reason: 'unconfirmed' });
      expect(marketingVerdictOf({ ...none, addressSuppression: 'bounced' })).toEqual({ allowed: false, reason: 'bounced' });
    });
  });
});
