import type { OutgoingMail } from '../domain/outgoing-mail.ts';

/**
 * What became of one send. The kinds differ in what we know about the provider's side:
 * - `accepted`: it took the message.
 * - `retryable`: it answered and did not take it (429, 5xx, nothing reached it); try again later.
 * - `rejected`: it answered that this request will never be taken (4xx).
 * - `unknown`: no answer (timeout, dropped connection): it may have taken the message.
 */
export type SendOutcome =
  | { kind: 'accepted'; providerMessageId: string | null }
  /** `retryAfterMs`: how long the provider asked us to wait (a 429's rate-limit headers). */
  | { kind: 'retryable'; status: number | null; error: string; retryAfterMs?: number }
  | { kind: 'rejected'; status: number; error: string }
  | { kind: 'unknown'; error: string };

/** One port per channel; the consumer only ever sees this. */
export interface MailTransport {
  readonly name: 'sendgrid' | 'outbox';
  /** Never throws for a provider failure: those are outcomes. */
  send: (mail: OutgoingMail) => Promise<SendOutcome>;
}
