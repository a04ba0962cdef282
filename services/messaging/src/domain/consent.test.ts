import { describe, expect, it } from 'vitest';
import { decideConsent, noConsent, type Consent, type ConsentInput } from './consent.ts';

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
});
