import type { ConsentSource, ConsentState, MarketingFrequency } from '@lifecycle/contracts';

/** The customer's own choice. */
export type Preference = 'subscribed' | 'unsubscribed';
/** What the provider told us about the address; only an operator lifts it. */
export type Block = 'bounced' | 'complained';

/** Double opt-in: `pending` until the confirmation link is clicked, then `confirmed`. */
export type OptIn = 'pending' | 'confirmed';

/** The proof of a double opt-in, kept for as long as the consent: when and from where. */
export type OptInProof = {
  subscribedAt: string;
  /** What recorded the subscription (`email-subscribed-event`), and the event's id. */
  source: string;
  eventId?: string;
  ip?: string;
  userAgent?: string;
  confirmedAt?: string;
  confirmIp?: string;
  confirmUserAgent?: string;
};

/**
 * One customer's consent as messaging keeps it: two independent facts, each with the time it was
 * decided, the customer's preferences and double opt-in, and the state last published from them.
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
  /** Topic ids the customer left in the preference center, sorted. */
  topicsOptedOut: string[];
  frequency: MarketingFrequency;
  /** When the customer last saved their preferences; null if never. */
  preferencesAt: Date | null;
  /** Null where no double opt-in was asked for. */
  optIn: OptIn | null;
  optInProof: OptInProof | null;
}

export const noConsent: Consent = {
  preference: null,
  preferenceAt: null,
  block: null,
  blockAt: null,
  state: null,
  sequence: 0,
  topicsOptedOut: [],
  frequency: 'any',
  preferencesAt: null,
  optIn: null,
  optInProof: null,
};

/** Where a double opt-in was asked for, what the subscription call told about where it came from. */
export interface DoubleOptInRequest {
  eventId?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export type ConsentInput =
  | { kind: 'unsubscribe' | 'bounce' | 'complaint'; at: Date; source: ConsentSource }
  /** `doubleOptIn`: the store asks this customer to confirm; marketing waits for the click. */
  | { kind: 'subscribe'; at: Date; source: ConsentSource; doubleOptIn?: DoubleOptInRequest }
  /** An operator's lift of a bounce or complaint; `at` is when they did it. */
  | { kind: 'lift'; at: Date; source: 'operator' }
  /** The click on a double opt-in's confirmation link (the page's POST). */
  | { kind: 'confirm'; at: Date; source: 'double-opt-in'; ip?: string | undefined; userAgent?: string | undefined }
  /** A save in the preference center; `unsubscribeAll` also unsubscribes from all marketing. */
  | { kind: 'preferences'; at: Date; source: 'preference-center'; topicsOptedOut: readonly string[]; frequency: MarketingFrequency; unsubscribeAll: boolean };

/** The preferences every record carries (`ConsentChanged.preferences`), with dates. */
export interface PreferencesOf {
  topicsOptedOut: string[];
  frequency: MarketingFrequency;
  at: Date | null;
}

/** The record to publish when the state changes. */
export interface ConsentChange {
  state: ConsentState;
  marketingAllowed: boolean;
  consentAt: Date;
  source: ConsentSource;
  sequence: number;
  previousState: ConsentState | null;
  preferences: PreferencesOf;
}

type Unchanged = { outcome: 'unchanged'; why: 'older' | 'same' | 'nothing-to-lift' | 'nothing-to-confirm' };

/**
 * `askConfirmation`: this input started a double opt-in (a new subscription that must be
 * confirmed): the confirmation mail is to be requested with it, in the same transaction.
 */
export type ConsentDecision =
  /** Nothing to store: the input is older than what is known, says what is already known, or lifts (confirms) nothing. */
  | Unchanged
  /** Store `next` (a fact's time moved on) but the state stays: nothing to publish. */
  | { outcome: 'recorded'; next: Consent; askConfirmation?: true }
  /** Store `next` and publish `change`. */
  | { outcome: 'changed'; next: Consent; change: ConsentChange; askConfirmation?: true };

/**
 * The state the facts give: a block wins, else the customer's choice, where a subscription still
 * waiting for its double opt-in confirmation is `unconfirmed`; null when nothing is known.
 */
export function effectiveState(preference: Preference | null, block: Block | null, optIn: OptIn | null = null): ConsentState | null {
  if (block !== null) return block;
  if (preference === null) return null;
  if (preference === 'subscribed' && optIn === 'pending') return 'unconfirmed';
  return preference;
}

export function preferencesOf(consent: Consent): PreferencesOf {
  return { topicsOptedOut: consent.topicsOptedOut, frequency: consent.frequency, at: consent.preferencesAt };
}

export function marketingAllowed(state: ConsentState | null): boolean {
  return state === null || state === 'subscribed';
}

type Fact = Unchanged | { outcome: 'moved'; next: Consent; askConfirmation?: true };

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

/**
 * A subscription: where the store asks for a double opt-in it waits for the click (with a new
 * proof and a new confirmation mail), unless the customer already is a confirmed subscriber;
 * without one, a confirmation still pending is no longer needed.
 */
function subscribe(current: Consent, input: Extract<ConsentInput, { kind: 'subscribe' }>): Fact {
  const fact = choose(current, 'subscribed', input.at);
  if (fact.outcome === 'unchanged') return fact;
  const { next } = fact;
  if (input.doubleOptIn === undefined) return next.optIn === 'pending' ? { outcome: 'moved', next: { ...next, optIn: null } } : fact;
  if (current.optIn === 'confirmed' && current.preference === 'subscribed') return fact;
  const { eventId, ip, userAgent } = input.doubleOptIn;
  const proof: OptInProof = {
    subscribedAt: input.at.toISOString(),
    source: input.source,
    ...(eventId === undefined ? {} : { eventId }),
    ...(ip === undefined ? {} : { ip }),
    ...(userAgent === undefined ? {} : { userAgent }),
  };
  return { outcome: 'moved', next: { ...next, optIn: 'pending', optInProof: proof }, askConfirmation: true };
}

/** The confirmation click: only a subscription still waiting for it is confirmed; again is harmless. */
function confirm(current: Consent, input: Extract<ConsentInput, { kind: 'confirm' }>): Fact {
  if (current.optIn === 'confirmed') return { outcome: 'unchanged', why: 'same' };
  // Unsubscribed since (or never asked): the old link does not subscribe anyone.
  if (current.optIn !== 'pending' || current.preference !== 'subscribed') return { outcome: 'unchanged', why: 'nothing-to-confirm' };
  const proof: OptInProof = {
    ...(current.optInProof ?? { subscribedAt: (current.preferenceAt ?? input.at).toISOString(), source: 'email-subscribed-event' }),
    confirmedAt: input.at.toISOString(),
    ...(input.ip === undefined ? {} : { confirmIp: input.ip }),
    ...(input.userAgent === undefined ? {} : { confirmUserAgent: input.userAgent }),
  };
  return { outcome: 'moved', next: { ...current, optIn: 'confirmed', optInProof: proof } };
}

/** A save in the preference center: the later save wins; "unsubscribe from all" is also the customer's choice. */
function savePreferences(current: Consent, input: Extract<ConsentInput, { kind: 'preferences' }>): Fact {
  if (current.preferencesAt !== null && input.at.getTime() < current.preferencesAt.getTime()) return { outcome: 'unchanged', why: 'older' };
  const topicsOptedOut = [...new Set(input.topicsOptedOut)].sort();
  let next: Consent = current;
  if (input.unsubscribeAll) {
    const chosen = choose(current, 'unsubscribed', input.at);
    if (chosen.outcome === 'moved') next = chosen.next;
  }
  const sameChoices = sameTopics(topicsOptedOut, current.topicsOptedOut) && input.frequency === current.frequency;
  if (sameChoices && next === current) return { outcome: 'unchanged', why: 'same' };
  return { outcome: 'moved', next: { ...next, topicsOptedOut, frequency: input.frequency, preferencesAt: input.at } };
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((topic, i) => topic === b[i]);
}

function applyFact(current: Consent, input: ConsentInput): Fact {
  switch (input.kind) {
    case 'subscribe':
      return subscribe(current, input);
    case 'confirm':
      return confirm(current, input);
    case 'preferences':
      return savePreferences(current, input);
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
  const ask = fact.askConfirmation === true ? { askConfirmation: true as const } : {};
  // A save in the preference center is published even when the state stays: the scheduler needs the choices.
  const saved = input.kind === 'preferences';
  // A lifted block with no choice ever made leaves the customer subscribed, as before the block; so
  // does a save by a customer never asked (they get marketing mail, which is where the link was).
  const state = effectiveState(fact.next.preference, fact.next.block, fact.next.optIn) ?? (current.state === null && !saved ? null : 'subscribed');
  if (state === null || (state === current.state && !saved)) return { outcome: 'recorded', next: fact.next, ...ask };
  const sequence = current.sequence + 1;
  const next: Consent = { ...fact.next, state, sequence };
  return {
    outcome: 'changed',
    next,
    change: { state, marketingAllowed: marketingAllowed(state), consentAt: input.at, source: input.source, sequence, previousState: current.state, preferences: preferencesOf(next) },
    ...ask,
  };
}

/** Whether marketing mail may go to a customer at an address, and if not why (`messages.events` `reason`). */
export type MarketingVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * The last guard at send, for changes between the scheduler's decision and the send: a state
 * that forbids marketing (its name is the reason: `unsubscribed`, `unconfirmed`, …), an address
 * suppression, then the message's topic the customer left (`topic_opt_out`).
 */
export function marketingVerdictOf(facts: { blockingState: string | null; addressSuppression: string | null; topic: string | undefined; topicsOptedOut: readonly string[] }): MarketingVerdict {
  if (facts.blockingState !== null) return { allowed: false, reason: facts.blockingState };
  if (facts.addressSuppression !== null) return { allowed: false, reason: facts.addressSuppression };
  if (facts.topic !== undefined && facts.topicsOptedOut.includes(facts.topic)) return { allowed: false, reason: 'topic_opt_out' };
  return { allowed: true };
}

function assertNever(value: never): never {
  throw new Error(`unexpected consent input: ${JSON.stringify(value)}`);
}
