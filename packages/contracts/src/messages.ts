import { z } from 'zod';
import { SegmentCall } from './segment.ts';
import { Stage } from './stages.ts';
import { envelope } from './envelope.ts';

/** `lifecycle.events`: a validated, deduplicated commerce call, keyed by customer id. */
export const LifecycleEvent = envelope('commerce.event', z.object({ call: SegmentCall }));
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** `lifecycle.stage-changes`: a customer moved from one stage to another. */
export const StageChanged = envelope(
  'stage.changed',
  z.object({
    from: Stage.nullable(),
    to: Stage,
    reason: z.string().min(1),
    /** The lifecycle event that caused the move. */
    eventId: z.string().min(1),
    /**
     * The move reflects the past (an import or replay of old events): it updates state, but
     * campaigns must not fire for it.
     */
    historical: z.boolean().optional(),
  }),
);
export type StageChanged = z.infer<typeof StageChanged>;

/** `messages.requested`: the scheduler asks messaging to send one message. */
export const MessageRequested = envelope(
  'message.requested',
  z.object({
    /** Campaign, customer and trigger: the same request always carries the same key. */
    dedupeKey: z.string().min(1),
    campaignId: z.string().min(1),
    templateId: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'template ids are kebab-case folder names'),
    /** The A/B variant the customer is in, when the campaign runs a test. */
    variant: z.string().optional(),
    /**
     * The campaign's topic (`campaigns/_consent.yaml`), for marketing mail: messaging suppresses
     * the message when the customer left that topic after the scheduler decided.
     */
    topic: z.string().optional(),
    category: z.enum(['transactional', 'marketing']),
    recipient: z.object({ email: z.email(), name: z.string().optional() }),
    locale: z.string().default('en'),
    timeZone: z.string().default('UTC'),
    /** A snapshot of everything the template needs, taken when the message was due. */
    data: z.record(z.string(), z.unknown()),
    /**
     * The campaign's offer: messaging hands out one code of `pool` for this message (the same one
     * to a redelivery) and adds it to the data as `offer`. Absent on requests without one.
     */
    offer: z
      .object({
        pool: z.string().min(1),
        expiresInDays: z.number().int().min(1).max(366),
        percent: z.number().min(0).max(100).optional(),
        amount: z.number().positive().optional(),
        currency: z.string().regex(/^[A-Z]{3}$/).optional(),
      })
      .optional(),
  }),
);
export type MessageRequested = z.infer<typeof MessageRequested>;

/**
 * What became of a message. Messaging's own outcomes: `sent`, `failed`, `doubtful` (the provider
 * may have taken it; never sent again), `suppressed` (marketing mail to an address that opted
 * out, left the message's topic, has not confirmed a double opt-in or was erased; not sent, with
 * `reason` `unsubscribed` | `topic_opt_out` | `unconfirmed` | `erased`), `skipped` (not sent for a
 * reason given in `reason`: `no_coupon`, the offer's pool had no code left). From SendGrid's Event Webhook: `processed`, `delivered`, `opened`, `clicked`,
 * `bounced`, `dropped`, `spam-reported`, `unsubscribed`. Values are only ever added.
 */
export const MessageStatus = z.enum([
  'sent',
  'failed',
  'doubtful',
  'suppressed',
  'skipped',
  'processed',
  'delivered',
  'opened',
  'clicked',
  'bounced',
  'dropped',
  'spam-reported',
  'unsubscribed',
]);
export type MessageStatus = z.infer<typeof MessageStatus>;

/** `messages.events`: what became of a requested message. */
export const MessageEvent = envelope(
  'message.status',
  z.object({
    dedupeKey: z.string().min(1),
    campaignId: z.string().min(1),
    status: MessageStatus,
    providerMessageId: z.string().optional(),
    error: z.string().optional(),
    /** SendGrid's `sg_event_id` for statuses from its Event Webhook. */
    providerEventId: z.string().optional(),
    /** When the provider saw it happen (opens, clicks, bounces), if it differs from `occurredAt`. */
    providerTimestamp: z.iso.datetime({ offset: true }).optional(),
    /** The link of a `clicked` event. */
    url: z.string().optional(),
    /** Bounce and drop reasons as SendGrid gives them; for `skipped`, why (`no_coupon`). */
    reason: z.string().optional(),
  }),
);
export type MessageEvent = z.infer<typeof MessageEvent>;

/** `<topic>.dlq`: a record that could not be processed, with why and where it came from. */
export const DeadLetter = z.object({
  version: z.literal(1),
  reason: z.string(),
  errors: z.array(z.string()),
  source: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
  key: z.string().nullable(),
  /** The original record value, base64, byte for byte. */
  value: z.string().nullable(),
  attempts: z.number().int(),
  failedAt: z.iso.datetime(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
