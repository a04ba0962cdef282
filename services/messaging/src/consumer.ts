import { publish, RejectRecord, type Logger, type Producer, type TopicConsumerOptions } from '@lifecycle/kit';
import type { MessageRequested } from '@lifecycle/contracts';
import type { SendRow } from './db/schema.ts';
import type { SendsRepository } from './db/sends-repository.ts';
import { messageStatusEvent } from './domain/message-event.ts';
import { composeMail, type OutgoingMail } from './domain/outgoing-mail.ts';
import { assertNever, verdictForExistingClaim } from './domain/send-policy.ts';
import type { TemplateCatalog } from './template-catalog.ts';
import type { MailTransport } from './transport/mail-transport.ts';

export interface MessageHandlerDeps {
  sends: SendsRepository;
  templates: TemplateCatalog;
  transport: MailTransport;
  producer: Producer;
  prefix: string;
  logger: Logger;
  now: () => Date;
}

/** The provider answered and did not take the message; the consumer's retry may try again. */
export class SendNotAccepted extends Error {
  override name = 'SendNotAccepted';
}

type Composed = { ok: true; mail: OutgoingMail } | { ok: false; error: string };

/**
 * Handles one `messages.requested` record so that its message goes out at most once:
 * claim the dedupe key (committed), render, send, record the outcome, report it on
 * `messages.events`. Whatever interrupts that sequence leaves a row that a redelivery reads
 * and resolves without sending again.
 */
export function messageRequestedHandler(deps: MessageHandlerDeps): TopicConsumerOptions<'messagesRequested'>['handle'] {
  const { sends, templates, transport, producer, prefix, now } = deps;

  const report = async (row: SendRow): Promise<void> => {
    if (row.status === 'sending') return;
    const event = messageStatusEvent({ ...row, status: row.status }, now());
    await publish(producer, prefix, 'messageEvents', [event]);
    await sends.markReported(row.dedupeKey, now());
  };

  const compose = async (request: MessageRequested, log: Logger): Promise<Composed> => {
    const lookup = await templates.get(request.payload.templateId);
    if (!lookup.ok) return { ok: false, error: lookup.error };
    const declared = lookup.template.meta.category;
    if (declared !== request.payload.category) {
      // The request decides (it is what consent was checked against); the mismatch is worth a look.
      log.warn({ requestedCategory: request.payload.category, templateCategory: declared }, 'requested category differs from the template category');
    }
    const rendered = lookup.template.compiled.render(request.payload.data, { locale: request.payload.locale });
    if (!rendered.ok) return { ok: false, error: `template "${request.payload.templateId}" failed to render: ${rendered.error}` };
    return { ok: true, mail: composeMail(request, lookup.template.meta, rendered.content) };
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
        const doubtful = await sends.finish(row.dedupeKey, { status: 'doubtful', error }, now());
        log.warn({ claimedAt: row.claimedAt.toISOString() }, 'earlier attempt left no outcome, marked doubtful, nothing sent');
        if (doubtful !== null) await report(doubtful);
        return;
      }
      default:
        assertNever(verdict);
    }
  };

  const sendClaimed = async (request: MessageRequested, log: Logger): Promise<void> => {
    const key = request.payload.dedupeKey;
    const composed = await compose(request, log);
    if (!composed.ok) {
      const failed = await sends.finish(key, { status: 'failed', error: composed.error }, now());
      if (failed !== null) await report(failed);
      throw new RejectRecord('message could not be rendered', [composed.error]);
    }
    const outcome = await transport.send(composed.mail);
    switch (outcome.kind) {
      case 'accepted': {
        const sent = await sends.finish(key, { status: 'sent', providerMessageId: outcome.providerMessageId }, now());
        log.info({ providerMessageId: outcome.providerMessageId, transport: transport.name }, 'message sent');
        if (sent !== null) await report(sent);
        return;
      }
      case 'rejected': {
        const failed = await sends.finish(key, { status: 'failed', error: outcome.error }, now());
        log.warn({ httpStatus: outcome.status, error: outcome.error }, 'message rejected by the mail provider');
        if (failed !== null) await report(failed);
        return;
      }
      case 'retryable':
        await sends.release(key);
        log.warn({ httpStatus: outcome.status, error: outcome.error }, 'mail provider did not accept the message, claim released');
        throw new SendNotAccepted(outcome.error);
      case 'unknown': {
        const doubtful = await sends.finish(key, { status: 'doubtful', error: outcome.error }, now());
        log.warn({ error: outcome.error }, 'mail provider gave no answer, marked doubtful');
        if (doubtful !== null) await report(doubtful);
        return;
      }
      default:
        assertNever(outcome);
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
    const claim = await sends.claim(
      { dedupeKey: payload.dedupeKey, messageId: request.id, customerId: request.customerId, campaignId: payload.campaignId, templateId: payload.templateId },
      now(),
    );
    if (claim.claimed) await sendClaimed(request, log);
    else await settleExisting(claim.row, log);
  };
}
