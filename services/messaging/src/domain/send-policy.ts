/**
 * Where a dedupe key stands. `doubtful`: the provider may or may not have accepted it.
 * `suppressed`: marketing mail to an address that unsubscribed, bounced or complained; not sent.
 */
export const sendStatuses = ['sending', 'sent', 'failed', 'doubtful', 'suppressed'] as const;
export type SendStatus = (typeof sendStatuses)[number];
export type FinalStatus = Exclude<SendStatus, 'sending'>;

export type ExistingClaimVerdict =
  /** The key already has its outcome: send nothing, report it if that never happened. */
  | { action: 'already-final'; status: FinalStatus }
  /**
   * A claim left in `sending`: an earlier attempt stopped between the provider call and the
   * record of its answer, so the mail may have gone out. Sending again could send it twice.
   */
  | { action: 'mark-doubtful' };

export function verdictForExistingClaim(status: SendStatus): ExistingClaimVerdict {
  switch (status) {
    case 'sending':
      return { action: 'mark-doubtful' };
    case 'sent':
    case 'failed':
    case 'doubtful':
    case 'suppressed':
      return { action: 'already-final', status };
    default:
      return assertNever(status);
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
