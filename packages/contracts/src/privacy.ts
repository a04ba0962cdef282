import { z } from 'zod';
import { envelope } from './envelope.ts';

/** The four services that hold data on a customer and confirm each privacy request. */
export const PrivacyServices = ['ingestion', 'classifier', 'scheduler', 'messaging'] as const;
export type PrivacyService = (typeof PrivacyServices)[number];

export const PrivacyKind = z.enum(['erase', 'export']);
export type PrivacyKind = z.infer<typeof PrivacyKind>;

/**
 * `privacy.requests`: an operator's request to erase or export one customer's data, keyed by
 * customer id; the envelope's `customerId` is the customer. Messaging records and publishes it;
 * every service acts on it (idempotently: a redelivery confirms again, changing nothing).
 */
export const PrivacyRequested = envelope(
  'privacy.requested',
  z.object({
    requestId: z.string().min(1),
    kind: PrivacyKind,
    /** Who asked: the operator's name, or `cli`. */
    requestedBy: z.string().min(1),
  }),
);
export type PrivacyRequested = z.infer<typeof PrivacyRequested>;

/**
 * `privacy.responses`: one service's confirmation that it acted on a request, keyed by customer
 * id. `summary` counts what it did per table (`{ "classifier.profiles": 1 }`); an export carries
 * the service's data on the customer in `data` (personal data: the topic keeps it 7 days).
 */
export const PrivacyCompleted = envelope(
  'privacy.completed',
  z.object({
    requestId: z.string().min(1),
    kind: PrivacyKind,
    service: z.enum(PrivacyServices),
    summary: z.record(z.string(), z.number().int().nonnegative()),
    /** Export only: the service's rows on the customer, by table. */
    data: z.record(z.string(), z.unknown()).optional(),
    /** What the service kept on purpose, and why (`a SHA-256 of the address, so it is never mailed by mistake`). */
    kept: z.array(z.string()).default([]),
  }),
);
export type PrivacyCompleted = z.infer<typeof PrivacyCompleted>;
