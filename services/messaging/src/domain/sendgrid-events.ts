import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { MessageEvent, MessageStatus } from '@lifecycle/contracts';
import type { SuppressionReason } from './suppression.ts';

/**
 * One event of SendGrid's Event Webhook. Our `custom_args` come back as top-level fields, which
 * is how an event finds its message. Everything else SendGrid sends is kept but not read.
 */
export const SendGridEvent = z.looseObject({
  event: z.string(),
  email: z.string().optional(),
  timestamp: z.number().optional(),
  sg_event_id: z.string().optional(),
  sg_message_id: z.string().optional(),
  url: z.string().optional(),
  reason: z.string().optional(),
  /** On `bounce`: `bounce` (hard) or `blocked` (soft, the address may work later). */
  type: z.string().optional(),
  dedupeKey: z.string().min(1).optional(),
  campaignId: z.string().min(1).optional(),
  customerId: z.string().min(1).optional(),
  messageId: z.string().min(1).optional(),
});
export type SendGridEvent = z.infer<typeof SendGridEvent>;

export const SendGridEventBatch = z.array(z.unknown());

const statusOf: Record<string, MessageStatus> = {
  processed: 'processed',
  delivered: 'delivered',
  open: 'opened',
  click: 'clicked',
  bounce: 'bounced',
  dropped: 'dropped',
  spamreport: 'spam-reported',
  unsubscribe: 'unsubscribed',
  group_unsubscribe: 'unsubscribed',
};

/** What one webhook event means for us. */
export interface WebhookEffect {
  /** The status record for `messages.events`, when the event belongs to one of our messages. */
  event: MessageEvent | null;
  /** The address to suppress for marketing mail, and why. */
  suppress: { email: string; reason: SuppressionReason } | null;
  /** SendGrid took the message: a `doubtful` send with this key was in fact sent. */
  settlesAsSent: { dedupeKey: string; providerMessageId: string | null } | null;
}

function suppressionFor(e: SendGridEvent): SuppressionReason | null {
  switch (e.event) {
    case 'bounce':
      // A block is about the sending IP or content; the address itself may be fine.
      return e.type === 'blocked' ? null : 'bounced';
    case 'spamreport':
      return 'spam-report';
    case 'unsubscribe':
    case 'group_unsubscribe':
      return 'unsubscribed';
    default:
      return null;
  }
}

/** SendGrid's message id is `<x-message-id>.<filter info>`; ours is the part before the dot. */
function providerMessageIdOf(e: SendGridEvent): string | null {
  if (e.sg_message_id === undefined) return null;
  return e.sg_message_id.split('.')[0] ?? null;
}

/** Maps one webhook event onto our status record, suppression and doubtful-send settlement. */
export function webhookEffect(e: SendGridEvent, receivedAt: Date): WebhookEffect {
  const status = statusOf[e.event];
  const reason = suppressionFor(e);
  const suppress = reason !== null && e.email !== undefined ? { email: e.email, reason } : null;
  const { dedupeKey, campaignId, customerId } = e;
  if (status === undefined || dedupeKey === undefined || campaignId === undefined || customerId === undefined) {
    return { event: null, suppress, settlesAsSent: null };
  }
  // Deterministic, so SendGrid's redelivery of a batch publishes records consumers drop.
  const eventKey = e.sg_event_id ?? createHash('sha256').update(JSON.stringify(e)).digest('hex').slice(0, 24);
  const providerMessageId = providerMessageIdOf(e);
  const event: MessageEvent = {
    id: `message-status:${dedupeKey}:${status}:${eventKey}`,
    type: 'message.status',
    version: 1,
    occurredAt: receivedAt.toISOString(),
    customerId,
    causationId: e.messageId ?? eventKey,
    payload: {
      dedupeKey,
      campaignId,
      status,
      ...(providerMessageId === null ? {} : { providerMessageId }),
      providerEventId: eventKey,
      ...(e.timestamp === undefined ? {} : { providerTimestamp: new Date(e.timestamp * 1000).toISOString() }),
      ...(status === 'clicked' && e.url !== undefined ? { url: e.url } : {}),
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    },
  };
  const taken = status === 'processed' || status === 'delivered' || status === 'opened' || status === 'clicked';
  return { event, suppress, settlesAsSent: taken ? { dedupeKey, providerMessageId } : null };
}
