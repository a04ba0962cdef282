/**
 * Where a dedupe key stands. A key is claimed in two steps, so that only a provider call that
 * really started can leave doubt behind:
 * - `claimed`: an attempt holds the key and has not called the provider yet. Nothing went out,
 *   so a redelivery takes the key over and sends (a database blip or crash before the call
 *   loses no mail).
 * - `sending`: set, and committed, just before the provider call; the mail may be out.
 * - `sent` / `failed` / `suppressed` / `skipped` (no coupon for its offer): the outcome. `doubtful`: a provider call started and no
 *   answer was recorded, so it may or may not have gone out; it is never sent again.
 */
export const sendStatuses = ['claimed', 'sending', 'sent', 'failed', 'doubtful', 'suppressed', 'skipped'] as const;
export type SendStatus = (typeof sendStatuses)[number];
export type OpenStatus = Extract<SendStatus, 'claimed' | 'sending'>;
export type FinalStatus = Exclude<SendStatus, OpenStatus>;

export function isFinal(status: SendStatus): status is FinalStatus {
  return status !== 'claimed' && status !== 'sending';
}

/** An outcome as recorded on the row. */
export interface FinalOutcome {
  status: FinalStatus;
  providerMessageId?: string | null;
  error?: string | null;
}

/**
 * The states an attempt's outcome may settle; the attempt must hold the claim (its claim token
 * must match as well). The provider's own report settles more (`providerSettlesFrom`).
 */
export function settlesFrom(outcome: FinalStatus): readonly SendStatus[] {
  switch (outcome) {
    case 'sent':
      return ['sending'];
    case 'doubtful':
      return ['sending'];
    // Before the call (template error, no unsubscribe secret) or after a definite refusal.
    case 'failed':
      return ['claimed', 'sending'];
    // Decided before any provider call.
    case 'suppressed':
    case 'skipped':
      return ['claimed'];
    default:
      return assertNever(outcome);
  }
}

/**
 * The states a provider's own report that it took the message (SendGrid's `processed`,
 * `delivered`, `open`, `click` events for the key) settles as `sent`. It is the best knowledge
 * there is, so it settles any open or doubtful row: `doubtful` (the answer to our call was
 * lost), `sending` (the answer is not in yet) and `claimed` (an operator released a doubtful
 * send for one more try, or we are waiting to retry after a 5xx, yet an earlier call did go
 * out: the next try must not send it again). A dedupe key is claimed once in its life, so an
 * event naming it always concerns this row's message.
 */
export const providerSettlesFrom: readonly SendStatus[] = ['claimed', 'sending', 'doubtful'];

/**
 * What this process remembers about an attempt whose row may say less, because recording it
 * failed (the database dropped). Only the process that made the attempt can know this.
 */
export type AttemptMemory =
  /** No provider call of this attempt is under way or unanswered: nothing went out. */
  | { claimToken: string; provider: 'not-called' }
  /** The provider answered; the outcome is not on the row yet. */
  | { claimToken: string; provider: 'answered'; outcome: FinalOutcome };

export type ExistingClaimVerdict =
  /** The key already has its outcome: send nothing, report it if that never happened. */
  | { action: 'already-final'; status: FinalStatus }
  /** Nothing went out under the current claim: take the key over and send. */
  | { action: 'take-over' }
  /** The provider answered an earlier attempt of this process: record that answer, send nothing. */
  | { action: 'record-outcome'; outcome: FinalOutcome }
  /**
   * A provider call started and its answer is lost (a crash or timeout between the call and the
   * record of its answer): the mail may have gone out. Sending again could send it twice.
   */
  | { action: 'mark-doubtful' };

/**
 * What a new attempt does with a key it found claimed. `memory`: what this process remembers
 * about the key, if anything; it counts only for the attempt that holds the row's claim token.
 */
export function verdictForExistingClaim(row: { status: SendStatus; claimToken: string | null }, memory: AttemptMemory | undefined): ExistingClaimVerdict {
  switch (row.status) {
    case 'claimed':
      return { action: 'take-over' };
    case 'sending': {
      const mine = memory !== undefined && row.claimToken !== null && memory.claimToken === row.claimToken;
      if (!mine) return { action: 'mark-doubtful' };
      return memory.provider === 'not-called' ? { action: 'take-over' } : { action: 'record-outcome', outcome: memory.outcome };
    }
    case 'sent':
    case 'failed':
    case 'doubtful':
    case 'suppressed':
    case 'skipped':
      return { action: 'already-final', status: row.status };
    default:
      return assertNever(row.status);
  }
}

export type ProviderVerdict = 'accepted' | 'retryable' | 'rejected';

/**
 * What an HTTP answer from the provider means. 429 and 5xx say "not now": the mail was not
 * accepted and may be tried again. Any other 4xx says the request itself is wrong.
 */
export function classifyProviderStatus(status: number): ProviderVerdict {
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 429 || status >= 500) return 'retryable';
  return 'rejected';
}

/** Marketing mail respects suppressions; transactional mail (receipts, resets) still goes. */
export function shouldSuppress(category: 'transactional' | 'marketing', addressSuppressed: boolean): boolean {
  return category === 'marketing' && addressSuppressed;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
