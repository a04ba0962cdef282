import type { Logger } from '@lifecycle/kit';
import type { ConsentRepository, ConsentTarget } from './db/consent-repository.ts';
import type { SuppressionsRepository } from './db/suppressions-repository.ts';
import type { MessageRequested } from '@lifecycle/contracts';
import { marketingVerdictOf, type ConsentDecision, type ConsentInput, type MarketingVerdict } from './domain/consent.ts';
import { normalizeAddress, type SuppressionReason, type SuppressionSource } from './domain/suppression.ts';

export type { MarketingVerdict } from './domain/consent.ts';

/** What the send path needs from consent. */
export interface MarketingConsent {
  /** Asked for every marketing message (`topic`: the campaign's); also learns that the address belongs to the customer. */
  marketingVerdict: (customerId: string, email: string, topic?: string) => Promise<MarketingVerdict>;
  /** `marketingVerdict` for many at once (a statement per step, not per message), in the order asked. */
  marketingVerdicts: (asked: readonly { customerId: string; email: string; topic?: string | undefined }[]) => Promise<MarketingVerdict[]>;
}

export interface LiftResult {
  /** Each customer the target named, and whether a bounce or complaint was lifted. */
  customers: { customerId: string; lifted: boolean; state: string | null }[];
  /** Address-level bounce and spam-report suppressions removed. */
  addressSuppressionsRemoved: number;
}

export interface ConsentKeeper extends MarketingConsent {
  /**
   * Records an input for a known customer, and the change (if any) for `consent.changes` in the
   * same transaction; `requests`: messages to request with the decision (a confirmation mail).
   */
  record: (target: ConsentTarget, input: ConsentInput, cause: string, requests?: (decision: ConsentDecision) => MessageRequested[]) => Promise<ConsentDecision>;
  /**
   * An input that names only an address (a link, a provider event without our ids): recorded for
   * every customer the address belongs to; when none is known, the address itself is suppressed.
   * Resolves to the customers reached.
   */
  recordForAddress: (email: string, input: ConsentInput, cause: string) => Promise<string[]>;
  /** Remembers that an address belongs to a customer, so a link naming only the address finds them. */
  remember: (email: string, customerId: string) => Promise<void>;
  /** The operator's lift of a bounce or complaint, for a customer id or an email address. */
  lift: (target: string) => Promise<LiftResult>;
}

export interface ConsentKeeperDeps {
  repository: ConsentRepository;
  suppressions: SuppressionsRepository;
  logger: Logger;
  now: () => Date;
}

const addressReason: Record<Extract<ConsentInput['kind'], 'unsubscribe' | 'bounce' | 'complaint'>, SuppressionReason> = {
  unsubscribe: 'unsubscribed',
  bounce: 'bounced',
  complaint: 'spam-report',
};

function suppressionSource(source: ConsentInput['source']): SuppressionSource | null {
  return source === 'unsubscribe-link' || source === 'email-unsubscribed-event' || source === 'sendgrid-webhook' ? source : null;
}

/**
 * Messaging as the one owner of consent: every input goes through the pure decision, every change
 * is written to messaging's outbox in the transaction that makes it and published on
 * `consent.changes` by the relay after the commit, and the send path asks the same state.
 */
export function createConsentKeeper(deps: ConsentKeeperDeps): ConsentKeeper {
  const { repository, logger } = deps;

  const record: ConsentKeeper['record'] = async (target, input, cause, requests) => {
    const decision = await repository.apply(target, input, cause, deps.now(), requests);
    if (decision.outcome === 'changed') {
      logger.info({ customerId: target.customerId, state: decision.change.state, sequence: decision.change.sequence, source: input.source }, 'consent changed');
    }
    return decision;
  };

  return {
    record,
    recordForAddress: async (email, input, cause) => {
      const customers = await repository.customersOf(email);
      for (const customerId of customers) await record({ customerId, email }, input, cause);
      if (customers.length > 0) return customers;
      const source = suppressionSource(input.source);
      if (input.kind === 'subscribe') await repository.removeAddressSuppressions(email, ['unsubscribed'], input.at);
      else if (input.kind === 'unsubscribe' || input.kind === 'bounce' || input.kind === 'complaint') {
        if (source !== null) await deps.suppressions.suppress(email, addressReason[input.kind], source, deps.now());
      } else if (input.kind === 'preferences' && input.unsubscribeAll) {
        // A preference link names an address we mailed; with no customer known, "all" still stops marketing to it.
        await deps.suppressions.suppress(email, 'unsubscribed', 'unsubscribe-link', deps.now());
      }
      return [];
    },
    remember: (email, customerId) => repository.remember(email, customerId, deps.now()),
    marketingVerdict: async (customerId, email, topic) => {
      await repository.remember(email, customerId, deps.now());
      const blockingState = await repository.blocking(customerId, email);
      const suppression = await deps.suppressions.find(email);
      const topics = topic === undefined ? new Map<string, string[]>() : await repository.topicsOptedOutOf([customerId]);
      return marketingVerdictOf({ blockingState, addressSuppression: suppression?.reason ?? null, topic, topicsOptedOut: topics.get(customerId) ?? [] });
    },
    marketingVerdicts: async (asked) => {
      if (asked.length === 0) return [];
      await repository.rememberMany(asked, deps.now());
      const withTopic = asked.filter((a) => a.topic !== undefined).map((a) => a.customerId);
      const [blocked, suppressed, topics] = await Promise.all([repository.blockingMany(asked), deps.suppressions.findMany(asked.map((a) => a.email)), repository.topicsOptedOutOf(withTopic)]);
      return asked.map(({ customerId, email, topic }, i): MarketingVerdict =>
        marketingVerdictOf({
          blockingState: blocked[i] ?? null,
          addressSuppression: suppressed.get(normalizeAddress(email))?.reason ?? null,
          topic,
          topicsOptedOut: topics.get(customerId) ?? [],
        }),
      );
    },
    lift: async (target) => {
      const byAddress = target.includes('@');
      const customers = byAddress ? await repository.customersOf(target) : [target];
      const result: LiftResult = { customers: [], addressSuppressionsRemoved: 0 };
      const addresses = new Set(byAddress ? [target] : []);
      for (const customerId of customers) {
        const before = await repository.find(customerId);
        if (before.email !== null) addresses.add(before.email);
        if (before.block === null) {
          result.customers.push({ customerId, lifted: false, state: before.state });
          continue;
        }
        const at = deps.now();
        const decision = await record({ customerId, email: null }, { kind: 'lift', at, source: 'operator' }, `operator-lift:${at.toISOString()}`);
        result.customers.push({ customerId, lifted: decision.outcome !== 'unchanged', state: decision.outcome === 'unchanged' ? before.state : decision.next.state });
      }
      for (const email of addresses) result.addressSuppressionsRemoved += await repository.removeAddressSuppressions(email, ['bounced', 'spam-report']);
      logger.info({ customers: result.customers.length, lifted: result.customers.filter((c) => c.lifted).length, addressSuppressionsRemoved: result.addressSuppressionsRemoved }, 'consent lifted by an operator');
      return result;
    },
  };
}
