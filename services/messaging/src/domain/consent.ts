import type { ConsentSource, ConsentState } from '@lifecycle/contracts';

/** The customer's own choice. */
export type Preference = 'subscribed' | 'unsubscribed';
/** What the provider told us about the address; only an operator lifts it. */
export type Block = 'bounced' | 'complained';

/**
 * One customer's consent as messaging keeps it: two independent facts, each with the time it was
 * decided, and the state last published from them.
 */
export interface Consent {
  preference: Preference | null;
  preferenceAt: Date | null;
  /** Null when there never was a block, or once an operator lifted it (`blockAt` is then the lift). */
  block: Block | null;
  blockAt: Date | null;
  /** The state last published; null before the first record. */
  state: ConsentState | null;
  /** Sequence of the last published record; 0 before the first. */
  sequence: number;
}

export const noConsent: Consent = { preference: null, preferenceAt: null, block: null, blockAt: null, state: null, sequence: 0 };

export type ConsentInput =
  | { kind: 'subscribe' | 'unsubscribe' | 'bounce' | 'complaint'; at: Date; source: ConsentSource }
  /** An operator's lift of a bounce or complaint; `at` is when they did it. */
  | { kind: 'lift'; at: Date; source: 'operator' };

/** The record to publish when the state changes. */
export interface ConsentChange {
  state: ConsentState;
  marketingAllowed: boolean;
  consentAt: Date;
  source: ConsentSource;
  sequence: number;
  previousState: ConsentState | null;
}

export type ConsentDecision =
  /** Nothing to store: the input is older than what is known, says what is already known, or lifts nothing. */
  | { outcome: 'unchanged'; why: 'older' | 'same' | 'nothing-to-lift' }
  /** Store `next` (a fact's time moved on) but the state stays: nothing to publish. */
  | { outcome: 'recorded'; next: Consent }
  /** Store `next` and publish `change`. */
  | { outcome: 'changed'; next: Consent; change: ConsentChange };

/** The state two facts give: a block wins, else the customer's choice; null when neither is known. */
export function effectiveState(preference: Preference | null, block: Block | null): ConsentState | null {
  if (block !== null) return block;
  if (preference === null) return null;
  return preference;
}

export function marketingAllowed(state: ConsentState | null): boolean {
  return state === null || state === 'subscribed';
}

type Fact = { outcome: 'unchanged'; why: 'older' | 'same' | 'nothing-to-lift' } | { outcome: 'moved'; next: Consent };

/**
 * The customer's choice: the later one wins, so a re-subscription after an unsubscribe lifts it
 * and an older event arriving late changes nothing. At the same instant an unsubscribe wins, so
 * the result does not depend on the order the two arrive in.
 */
function choose(current: Consent, value: Preference, at: Date): Fact {
  const known = current.preferenceAt;
  if (known !== null) {
    if (at.getTime() < known.getTime()) return { outcome: 'unchanged', why: 'older' };
    if (at.getTime() === known.getTime() && (current.preference === value || value === 'subscribed')) {
      return { outcome: 'unchanged', why: current.preference === value ? 'same' : 'older' };
    }
  }
  // The same choice again, later: its time moves on, so a re-subscription between the two is still judged against the latest.
  return { outcome: 'moved', next: { ...current, preference: value, preferenceAt: at } };
}

/** A hard bounce or complaint: the later one counts; at the same instant a complaint outranks a bounce and a lift both. */
function blockWith(current: Consent, value: Block, at: Date): Fact {
  const known = current.blockAt;
  if (known !== null) {
    if (at.getTime() < known.getTime()) return { outcome: 'unchanged', why: 'older' };
    if (at.getTime() === known.getTime()) {
      if (current.block === value) return { outcome: 'unchanged', why: 'same' };
      // A lift at the very instant of the bounce: the operator saw it, the lift stands.
      if (current.block === null || current.block === 'complained') return { outcome: 'unchanged', why: 'older' };
    }
  }
  return { outcome: 'moved', next: { ...current, block: value, blockAt: at } };
}

/** Only an operator lifts a block; bounces and complaints from before the lift are then ignored. */
function lift(current: Consent, at: Date): Fact {
  if (current.block === null || current.blockAt === null) return { outcome: 'unchanged', why: 'nothing-to-lift' };
  const liftedAt = at.getTime() > current.blockAt.getTime() ? at : current.blockAt;
  return { outcome: 'moved', next: { ...current, block: null, blockAt: liftedAt } };
}

function applyFact(current: Consent, input: ConsentInput): Fact {
  switch (input.kind) {
    case 'subscribe':
      return choose(current, 'subscribed', input.at);
    case 'unsubscribe':
      return choose(current, 'unsubscribed', input.at);
    case 'bounce':
      return blockWith(current, 'bounced', input.at);
    case 'complaint':
      return blockWith(current, 'complained', input.at);
    case 'lift':
      return lift(current, input.at);
    default:
      return assertNever(input);
  }
}

/**
 * What one input does to a customer's consent. Pure and idempotent: the same input applied again
 * is `unchanged`, and inputs are judged by when the customer acted, not by when they arrived.
 * A change of state gets the next sequence number for consumers to order by.
 */
export function decideConsent(current: Consent, input: ConsentInput): ConsentDecision {
  const fact = applyFact(current, input);
  if (fact.outcome === 'unchanged') return fact;
  // A lifted block with no choice ever made leaves the customer subscribed, as before the block.
  const state = effectiveState(fact.next.preference, fact.next.block) ?? (current.state === null ? null : 'subscribed');
  if (state === null || state === current.state) return { outcome: 'recorded', next: fact.next };
  const sequence = current.sequence + 1;
  return {
    outcome: 'changed',
    next: { ...fact.next, state, sequence },
    change: { state, marketingAllowed: marketingAllowed(state), consentAt: input.at, source: input.source, sequence, previousState: current.state },
  };
}

function assertNever(value: never): never {
  throw new Error(`unexpected consent input: ${JSON.stringify(value)}`);
}
