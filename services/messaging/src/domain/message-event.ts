import type { MessageEvent, MessageStatus } from '@lifecycle/contracts';

export interface MessageOutcome {
  dedupeKey: string;
  campaignId: string;
  customerId: string;
  /** The id of the `messages.requested` envelope that claimed the key. */
  messageId: string;
  status: MessageStatus;
  providerMessageId?: string | null;
  error?: string | null;
}

/**
 * The `messages.events` record for an outcome. Its id depends only on the dedupe key and the
 * status, so reporting the same outcome again yields a record consumers drop as a duplicate.
 */
export function messageStatusEvent(outcome: MessageOutcome, occurredAt: Date): MessageEvent {
  return {
    id: `message-status:${outcome.dedupeKey}:${outcome.status}`,
    type: 'message.status',
    version: 1,
    occurredAt: occurredAt.toISOString(),
    customerId: outcome.customerId,
    causationId: outcome.messageId,
    payload: {
      dedupeKey: outcome.dedupeKey,
      campaignId: outcome.campaignId,
      status: outcome.status,
      ...(outcome.providerMessageId ? { providerMessageId: outcome.providerMessageId } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
      // `skipped`: the error starts with the reason (`no_coupon: …`), which the scheduler counts skips by.
      ...(outcome.status === 'skipped' ? { reason: (outcome.error ?? 'skipped').split(':')[0] ?? 'skipped' } : {}),
      // `suppressed`: the error is `recipient suppressed: <reason>` (`unsubscribed`, `topic_opt_out`, `unconfirmed`, …).
      ...(outcome.status === 'suppressed' ? { reason: suppressedReason(outcome.error) } : {}),
    },
  };
}

const SUPPRESSED = 'recipient suppressed: ';

function suppressedReason(error: string | null | undefined): string {
  return error?.startsWith(SUPPRESSED) === true ? error.slice(SUPPRESSED.length).trim() || 'suppressed' : 'suppressed';
}
