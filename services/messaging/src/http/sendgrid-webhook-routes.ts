import type { KeyObject } from 'node:crypto';
import type { Database, FastifyInstance, Outbox } from '@lifecycle/kit';
import type { MessageEvent } from '@lifecycle/contracts';
import type { SendsRepository } from '../db/sends-repository.ts';
import type { ConsentKeeper } from '../consent-keeper.ts';
import type { ConsentInput } from '../domain/consent.ts';
import type { SuppressionReason } from '../domain/suppression.ts';
import { SendGridEvent, SendGridEventBatch, webhookEffect } from '../domain/sendgrid-events.ts';
import { verifyWebhookSignature } from '../domain/webhook-signature.ts';
import type { MessagingMetrics } from '../metrics.ts';

export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

export interface SendGridWebhookOptions {
  /** Unset: every POST answers 503, nothing unverified is ever accepted. */
  publicKey: KeyObject | undefined;
  /** Settling a send reports `sent` in the same transaction. */
  sends: SendsRepository;
  /** A consent change is written to the outbox in the transaction that decides it. */
  consent: Pick<ConsentKeeper, 'record' | 'recordForAddress'>;
  /** The events themselves (delivered, opened, …) go out through messaging's outbox too. */
  outbox: Outbox;
  db: Database;
  metrics: MessagingMetrics;
  now: () => Date;
}

const consentKind: Record<SuppressionReason, Extract<ConsentInput['kind'], 'unsubscribe' | 'bounce' | 'complaint'>> = {
  unsubscribed: 'unsubscribe',
  bounced: 'bounce',
  'spam-report': 'complaint',
};

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `POST /webhooks/sendgrid`: SendGrid's Event Webhook. The signature covers the exact bytes
 * received, so this route reads the raw body. Each event of ours becomes a `messages.events`
 * record; bounces, spam reports and unsubscribes change the customer's consent (the address's,
 * for mail that is not ours), as of the provider's timestamp; SendGrid's report that it took a
 * message (processed, delivered, open, click) settles a doubtful or still open send as sent.
 * Every record goes through messaging's outbox: each consent change with its own transaction,
 * the batch's settled sends' `sent` in one after them, the batch's events in one more after
 * that. Answering 2xx only after all of that has committed means SendGrid retries a batch we
 * failed on, and the deterministic ids make the retry harmless.
 */
export function sendGridWebhookRoutes(opts: SendGridWebhookOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));

    app.post('/webhooks/sendgrid', async (request, reply) => {
      if (opts.publicKey === undefined) return reply.status(503).send({ error: 'the SendGrid webhook is not configured: set SENDGRID_WEBHOOK_PUBLIC_KEY' });
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const signature = header(request.headers[SIGNATURE_HEADER]);
      const timestamp = header(request.headers[TIMESTAMP_HEADER]);
      if (!verifyWebhookSignature(opts.publicKey, signature, timestamp, raw)) {
        request.log.warn('SendGrid webhook refused: signature missing or invalid');
        return reply.status(401).send({ error: 'signature missing or invalid' });
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return reply.status(400).send({ error: 'body: expected a JSON array of events' });
      }
      const batch = SendGridEventBatch.safeParse(json);
      if (!batch.success) return reply.status(400).send({ error: 'body: expected a JSON array of events' });

      const receivedAt = opts.now();
      const records: MessageEvent[] = [];
      let suppressed = 0;
      let unmatched = 0;
      const settlements: { dedupeKey: string; providerMessageId: string | null }[] = [];
      for (const item of batch.data) {
        const parsed = SendGridEvent.safeParse(item);
        if (!parsed.success) {
          unmatched += 1;
          continue;
        }
        opts.metrics.countWebhookEvent(parsed.data.event);
        const effect = webhookEffect(parsed.data, receivedAt);
        if (effect.suppress !== null) {
          const event = parsed.data;
          const input = { kind: consentKind[effect.suppress.reason], at: event.timestamp === undefined ? receivedAt : new Date(event.timestamp * 1000), source: 'sendgrid-webhook' } as const;
          const cause = event.sg_event_id ?? effect.event?.id ?? 'sendgrid-webhook';
          if (event.customerId !== undefined) await opts.consent.record({ customerId: event.customerId, email: effect.suppress.email }, input, cause);
          else await opts.consent.recordForAddress(effect.suppress.email, input, cause);
          suppressed += 1;
        }
        if (effect.settlesAsSent !== null) settlements.push(effect.settlesAsSent);
        if (effect.event === null) unmatched += 1;
        else records.push(effect.event);
      }
      // The batch's settlements in one transaction, after its consent changes; then its events,
      // so a key's `sent` goes out before SendGrid's own event for it.
      const settled = await opts.sends.settleAsSent(settlements, receivedAt);
      for (const row of settled) request.log.info({ dedupeKey: row.dedupeKey, customerId: row.customerId, providerMessageId: row.providerMessageId }, 'send settled as sent by a SendGrid event');
      const settledCount = settled.length;
      await opts.sends.recordEngagement(
        records.flatMap((r) =>
          r.payload.status === 'opened' || r.payload.status === 'clicked' ? [{ dedupeKey: r.payload.dedupeKey, kind: r.payload.status, at: new Date(r.payload.providerTimestamp ?? r.occurredAt) }] : [],
        ),
      );
      await opts.outbox.enqueue(opts.db, 'messageEvents', records);
      return reply.send({ received: batch.data.length, published: settledCount + records.length, suppressed, unmatched });
    });
  };
}
