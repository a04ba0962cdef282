import { publish, RejectRecord, type Logger, type Producer, type TopicConsumerOptions } from '@lifecycle/kit';
import type { MessageRequested } from '@lifecycle/contracts';
import type { SendRow } from './db/schema.ts';
import type { NewClaim, SendsRepository } from './db/sends-repository.ts';
import type { SuppressionsRepository } from './db/suppressions-repository.ts';
import { messageStatusEvent } from './domain/message-event.ts';
import { composeMail, type OutgoingMail } from './domain/outgoing-mail.ts';
import { decideRetry, type RetryPolicy } from './domain/retry-policy.ts';
import { assertNever, shouldSuppress, verdictForExistingClaim } from './domain/send-policy.ts';
import { unsubscribeLinks } from './domain/unsubscribe-token.ts';
import type { MessagingMetrics } from './metrics.ts';
import type { TemplateCatalog } from './template-catalog.ts';
import type { MailTransport } from './transport/mail-transport.ts';

/** What marketing mail needs for its unsubscribe link and `List-Unsubscribe` headers. */
export interface UnsubscribeSettings {
  /** Unset: marketing mail cannot carry a verifiable link and is failed instead of sent. */
  secret: string | undefined;
  /** Public base URL of this service, e.g. `https://mail.shop.example.com`. */
  publicUrl: string;
  /** Address for the `mailto:` form of `List-Unsubscribe`; unset: only the https form. */
  mailto: string | undefined;
}

export interface MessageHandlerDeps {
  sends: SendsRepository;
  suppressions: SuppressionsRepository;
  templates: TemplateCatalog;
  transport: MailTransport;
  producer: Producer;
  prefix: string;
  logger: Logger;
  now: () => Date;
  retry: RetryPolicy;
  unsubscribe: UnsubscribeSettings;
  metrics: MessagingMetrics;
  /** Resolves when the next provider call may start (the sends-per-second limit); rejects on shutdown. */
  pace: () => Promise<void>;
  /** Rejects when the service stops, so a long retry wait does not hold up shutdown. */
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1), for backoff jitter. */
  random: () => number;
}

type Composed = { ok: true; mail: OutgoingMail } | { ok: false; error: string };

/**
 * Handles one `messages.requested` record so that its message goes out at most once:
 * claim the dedupe key (committed), skip it if the address is suppressed, render, send, record
 * the outcome, report it on `messages.events`. Whatever interrupts that sequence leaves a row
 * that a redelivery reads and resolves without sending again.
 */
export function messageRequestedHandler(deps: MessageHandlerDeps): TopicConsumerOptions<'messagesRequested'>['handle'] {
  const { sends, suppressions, templates, transport, producer, prefix, now, metrics } = deps;

  const report = async (row: SendRow): Promise<void> => {
    if (row.status === 'sending') return;
    const event = messageStatusEvent({ ...row, status: row.status }, now());
    await publish(producer, prefix, 'messageEvents', [event]);
    await sends.markReported(row.dedupeKey, now());
  };

  const compose = async (request: MessageRequested, log: Logger): Promise<Composed> => {
    const { payload } = request;
    const lookup = await templates.get(payload.templateId);
    if (!lookup.ok) return { ok: false, error: lookup.error };
    const declared = lookup.template.meta.category;
    if (declared !== payload.category) {
      // The request decides (it is what consent was checked against); the mismatch is worth a look.
      log.warn({ requestedCategory: payload.category, templateCategory: declared }, 'requested category differs from the template category');
    }
    let data = payload.data;
    let headers: Record<string, string> | undefined;
    if (payload.category === 'marketing') {
      const { secret, publicUrl, mailto } = deps.unsubscribe;
      if (secret === undefined) return { ok: false, error: 'marketing mail needs an unsubscribe link: set UNSUBSCRIBE_SECRET' };
      const links = unsubscribeLinks({ email: payload.recipient.email, secret, publicUrl, mailto });
      data = { ...data, unsubscribeUrl: links.url };
      headers = links.headers;
    }
    const rendered = lookup.template.compiled.render(data, { locale: payload.locale, timeZone: payload.timeZone, campaignId: payload.campaignId });
    if (!rendered.ok) return { ok: false, error: `template "${payload.templateId}" failed to render: ${rendered.error}` };
    return { ok: true, mail: composeMail(request, lookup.template.meta, rendered.content, headers) };
  };

  const finishAndReport = async (key: string, outcome: Parameters<SendsRepository['finish']>[1]): Promise<void> => {
    const row = await sends.finish(key, outcome, now());
    if (row === null) return;
    metrics.countOutcome(outcome.status);
    await report(row);
  };

  const settleExisting = async (row: SendRow, log: Logger): Promise<void> => {
    const verdict = verdictForExistingClaim(row.status);
    switch (verdict.action) {
      case 'already-final':
        log.info({ status: verdict.status }, 'message already handled, nothing sent');
        if (row.reportedAt === null) await report(row);
        return;
      case 'mark-doubtful': {
        const error = 'an earlier attempt stopped before recording whether the provider accepted the message';
        log.warn({ claimedAt: row.claimedAt.toISOString() }, 'earlier attempt left no outcome, marked doubtful, nothing sent');
        await finishAndReport(row.dedupeKey, { status: 'doubtful', error });
        return;
      }
      default:
        assertNever(verdict);
    }
  };

  const sendClaimed = async (request: MessageRequested, claim: NewClaim, log: Logger): Promise<void> => {
    const key = claim.dedupeKey;
    if (request.payload.category === 'marketing') {
      const suppression = await suppressions.find(request.payload.recipient.email);
      if (shouldSuppress(request.payload.category, suppression !== undefined)) {
        log.info({ reason: suppression?.reason }, 'recipient is suppressed, marketing message skipped');
        await finishAndReport(key, { status: 'suppressed', error: `recipient suppressed: ${suppression?.reason ?? 'unknown'}` });
        return;
      }
    }
    const composed = await compose(request, log);
    if (!composed.ok) {
      await finishAndReport(key, { status: 'failed', error: composed.error });
      throw new RejectRecord('message could not be rendered', [composed.error]);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.pace();
      } catch (err) {
        // Shutting down before the call: nothing went out, so the key is free for the next run.
        await sends.release(key);
        throw err;
      }
      const outcome = await transport.send(composed.mail);
      switch (outcome.kind) {
        case 'accepted':
          log.info({ providerMessageId: outcome.providerMessageId, transport: transport.name, attempt }, 'message sent');
          await finishAndReport(key, { status: 'sent', providerMessageId: outcome.providerMessageId });
          return;
        case 'rejected':
          log.warn({ httpStatus: outcome.status, error: outcome.error }, 'message rejected by the mail provider');
          await finishAndReport(key, { status: 'failed', error: outcome.error });
          return;
        case 'unknown':
          // A timeout or dropped connection: SendGrid may have taken it. Never risk a second copy.
          log.warn({ error: outcome.error }, 'mail provider gave no answer, marked doubtful');
          await finishAndReport(key, { status: 'doubtful', error: outcome.error });
          return;
        case 'retryable': {
          const decision = decideRetry(deps.retry, attempt, outcome.retryAfterMs, deps.random());
          if (decision.action === 'give-up') {
            const error = `gave up after ${attempt} attempts: ${outcome.error}`;
            log.warn({ httpStatus: outcome.status, attempt, error: outcome.error }, 'mail provider kept refusing, message failed');
            await finishAndReport(key, { status: 'failed', error });
            return;
          }
          metrics.countRetry(outcome.status === 429 ? 'rate-limited' : outcome.status === null ? 'unreachable' : 'provider-error');
          // Nothing was sent: give the key back while waiting, so a crash now loses nothing.
          await sends.release(key);
          log.warn({ httpStatus: outcome.status, attempt, delayMs: decision.delayMs, error: outcome.error }, 'mail provider did not accept the message, retrying');
          // Rejects when the service stops; the key is already free, so the redelivery sends.
          await deps.sleep(decision.delayMs);
          const again = await sends.claim(claim, now());
          if (!again.claimed) {
            await settleExisting(again.row, log);
            return;
          }
          break;
        }
        default:
          assertNever(outcome);
      }
    }
  };

  return async (request) => {
    const { payload } = request;
    const log = deps.logger.child({
      messageId: request.id,
      dedupeKey: payload.dedupeKey,
      customerId: request.customerId,
      campaignId: payload.campaignId,
      templateId: payload.templateId,
    });
    const claimValues: NewClaim = {
      dedupeKey: payload.dedupeKey,
      messageId: request.id,
      customerId: request.customerId,
      campaignId: payload.campaignId,
      templateId: payload.templateId,
    };
    const claim = await sends.claim(claimValues, now());
    if (claim.claimed) await sendClaimed(request, claimValues, log);
    else await settleExisting(claim.row, log);
  };
}
