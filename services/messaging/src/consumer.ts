import { RejectRecord, type Logger, type TopicConsumerOptions } from '@lifecycle/kit';
import type { MessageRequested } from '@lifecycle/contracts';
import type { MarketingConsent } from './consent-keeper.ts';
import type { SendRow } from './db/schema.ts';
import type { NewClaim, SendsRepository } from './db/sends-repository.ts';
import { composeMail, type OutgoingMail } from './domain/outgoing-mail.ts';
import { decideRetry, type RetryPolicy } from './domain/retry-policy.ts';
import { assertNever, shouldSuppress, verdictForExistingClaim, type AttemptMemory, type FinalOutcome } from './domain/send-policy.ts';
import { unsubscribeLinks } from './domain/unsubscribe-token.ts';
import type { MessagingMetrics } from './metrics.ts';
import type { TemplateCatalog } from './template-catalog.ts';
import type { UnsubscribeTokens } from './unsubscribe-tokens.ts';
import type { MailTransport } from './transport/mail-transport.ts';

/** What marketing mail needs for its unsubscribe link and `List-Unsubscribe` headers. */
export interface UnsubscribeSettings {
  /** Unset (no secret configured): marketing mail cannot carry a verifiable link and is failed instead of sent. */
  tokens: UnsubscribeTokens | undefined;
  /** Public base URL of this service, e.g. `https://mail.shop.example.com`. */
  publicUrl: string;
  /** Address for the `mailto:` form of `List-Unsubscribe`; unset: only the https form. */
  mailto: string | undefined;
}

export interface MessageHandlerDeps {
  /** Claims and outcomes; recording an outcome also writes its `messages.events` record to the outbox. */
  sends: SendsRepository;
  /** The customer's consent (and address-level suppressions), asked for every marketing message. */
  consent: MarketingConsent;
  templates: TemplateCatalog;
  transport: MailTransport;
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

/** How many attempts' memories a process keeps; each is dropped once its outcome is on the row. */
const ATTEMPT_MEMORY_LIMIT = 10_000;

/**
 * Handles one `messages.requested` record so that its message goes out at most once and is not
 * lost to a failure before the provider call: claim the dedupe key (`claimed`, committed), skip
 * it if the address is suppressed, render, mark it `sending` (committed), call the provider,
 * record the outcome together with its `messages.events` record (one transaction; the outbox
 * relay publishes it after the commit). Whatever interrupts that sequence leaves a
 * row that a redelivery resolves (send-policy.ts): `claimed` is taken over and sent, `sending`
 * becomes `doubtful` unless this process knows its own call did not go out or how it ended.
 */
export function messageRequestedHandler(deps: MessageHandlerDeps): TopicConsumerOptions<'messagesRequested'>['handle'] {
  const { sends, consent, templates, transport, now, metrics } = deps;
  /**
   * What this process knows about attempts whose row may say less because the database failed
   * while recording it: a call that never started or was refused, or an answer not yet written.
   */
  const memory = new Map<string, AttemptMemory>();
  const remember = (key: string, value: AttemptMemory): void => {
    memory.delete(key);
    memory.set(key, value);
    // Oldest first: an entry left behind by a record that went to another replica.
    if (memory.size > ATTEMPT_MEMORY_LIMIT) memory.delete(memory.keys().next().value ?? key);
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
      const { tokens, publicUrl, mailto } = deps.unsubscribe;
      if (tokens === undefined) return { ok: false, error: 'marketing mail needs an unsubscribe link: set UNSUBSCRIBE_SECRET' };
      const links = unsubscribeLinks({ token: await tokens.issue(payload.recipient.email, now()), publicUrl, mailto });
      data = { ...data, unsubscribeUrl: links.url };
      headers = links.headers;
    }
    const rendered = lookup.template.compiled.render(data, { locale: payload.locale, timeZone: payload.timeZone, campaignId: payload.campaignId });
    if (!rendered.ok) return { ok: false, error: `template "${payload.templateId}" failed to render: ${rendered.error}` };
    return { ok: true, mail: composeMail(request, lookup.template.meta, rendered.content, headers) };
  };

  /** Records the outcome of the attempt holding `claimToken`, and with it its status report. */
  const finishAndReport = async (key: string, claimToken: string | null, outcome: FinalOutcome, request?: MessageRequested): Promise<void> => {
    const row = await sends.finish(key, outcome, now(), claimToken, request);
    // On the row (or the row moved on without us): nothing left that only this process knows.
    memory.delete(key);
    if (row !== null) metrics.countOutcome(outcome.status);
  };

  /**
   * Resolves a key some attempt claimed before. Returns the claim to send under when nothing
   * went out under the earlier one, or null when the key is settled or another attempt holds it.
   */
  const settleExisting = async (found: SendRow, claim: NewClaim, log: Logger): Promise<SendRow | null> => {
    let row = found;
    // A second look only when another attempt moved the row between our read and our update.
    for (let look = 0; look < 3; look++) {
      const verdict = verdictForExistingClaim(row, memory.get(row.dedupeKey));
      switch (verdict.action) {
        case 'already-final':
          // Its status was reported with the outcome (or, from before the outbox, at start-up).
          log.info({ status: verdict.status }, 'message already handled, nothing sent');
          return null;
        case 'take-over': {
          const taken = await sends.takeOver(row, claim, now());
          if (taken !== null) {
            log.info({ previousStatus: row.status }, 'earlier attempt sent nothing, claim taken over');
            return taken;
          }
          break;
        }
        case 'record-outcome':
          log.info({ status: verdict.outcome.status }, 'recording the provider answer an earlier attempt could not record, nothing sent');
          await finishAndReport(row.dedupeKey, row.claimToken, verdict.outcome);
          return null;
        case 'mark-doubtful': {
          const error = 'an earlier attempt stopped before recording whether the provider accepted the message';
          log.warn({ claimedAt: row.claimedAt.toISOString() }, 'earlier attempt left no outcome, marked doubtful, nothing sent');
          // The request in hand goes on the row (a row claimed before requests were kept has none), so an operator can release it.
          await finishAndReport(row.dedupeKey, row.claimToken, { status: 'doubtful', error }, claim.request);
          return null;
        }
        default:
          assertNever(verdict);
      }
      const again = await sends.claim(claim, now());
      if (again.claimed) return again.row;
      row = again.row;
    }
    throw new Error('the claim of a dedupe key kept changing hands');
  };

  const sendClaimed = async (request: MessageRequested, claimed: SendRow, log: Logger): Promise<void> => {
    const key = claimed.dedupeKey;
    const token = claimed.claimToken;
    if (token === null) throw new Error('a claim without a claim token');
    // Until the row says `sending`, nothing has gone out: a failure anywhere before leaves the
    // key `claimed`, which the redelivery takes over. The memory covers the one ambiguous step,
    // marking `sending` itself (committed but its answer lost).
    remember(key, { claimToken: token, provider: 'not-called' });
    if (request.payload.category === 'marketing') {
      const verdict = await consent.marketingVerdict(request.customerId, request.payload.recipient.email);
      if (shouldSuppress(request.payload.category, !verdict.allowed)) {
        const reason = verdict.allowed ? 'unknown' : verdict.reason;
        log.info({ reason }, 'recipient is suppressed, marketing message skipped');
        await finishAndReport(key, token, { status: 'suppressed', error: `recipient suppressed: ${reason}` });
        return;
      }
    }
    const composed = await compose(request, log);
    if (!composed.ok) {
      await finishAndReport(key, token, { status: 'failed', error: composed.error });
      throw new RejectRecord('message could not be rendered', [composed.error]);
    }
    for (let attempt = 1; ; attempt++) {
      // Shutting down rejects here, before the call: the key stays `claimed` for the next run.
      await deps.pace();
      if (!(await sends.markSending(key, token, now()))) {
        // A redelivery elsewhere took the key over while this attempt had sent nothing; it sends.
        memory.delete(key);
        log.info('claim taken over by another attempt, nothing sent here');
        return;
      }
      // From here on only the provider's answer says whether the mail went out.
      memory.delete(key);
      const outcome = await transport.send(composed.mail);
      switch (outcome.kind) {
        case 'accepted': {
          const sent: FinalOutcome = { status: 'sent', providerMessageId: outcome.providerMessageId };
          remember(key, { claimToken: token, provider: 'answered', outcome: sent });
          log.info({ providerMessageId: outcome.providerMessageId, transport: transport.name, attempt }, 'message sent');
          await finishAndReport(key, token, sent);
          return;
        }
        case 'rejected': {
          const failed: FinalOutcome = { status: 'failed', error: outcome.error };
          remember(key, { claimToken: token, provider: 'answered', outcome: failed });
          log.warn({ httpStatus: outcome.status, error: outcome.error }, 'message rejected by the mail provider');
          await finishAndReport(key, token, failed);
          return;
        }
        case 'unknown':
          // A timeout or dropped connection: SendGrid may have taken it. Never risk a second copy.
          log.warn({ error: outcome.error }, 'mail provider gave no answer, marked doubtful');
          await finishAndReport(key, token, { status: 'doubtful', error: outcome.error });
          return;
        case 'retryable': {
          // The provider did not take it: should recording that fail, this process still knows.
          remember(key, { claimToken: token, provider: 'not-called' });
          const decision = decideRetry(deps.retry, attempt, outcome.retryAfterMs, deps.random());
          if (decision.action === 'give-up') {
            const error = `gave up after ${attempt} attempts: ${outcome.error}`;
            log.warn({ httpStatus: outcome.status, attempt, error: outcome.error }, 'mail provider kept refusing, message failed');
            await finishAndReport(key, token, { status: 'failed', error });
            return;
          }
          metrics.countRetry(outcome.status === 429 ? 'rate-limited' : outcome.status === null ? 'unreachable' : 'provider-error');
          // Back to `claimed` while waiting, so a crash now loses nothing: the redelivery sends.
          await sends.release(key, token, now());
          log.warn({ httpStatus: outcome.status, attempt, delayMs: decision.delayMs, error: outcome.error }, 'mail provider did not accept the message, retrying');
          // Rejects when the service stops; the key is `claimed` again, so the redelivery sends.
          await deps.sleep(decision.delayMs);
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
      request,
    };
    const claim = await sends.claim(claimValues, now());
    const held = claim.claimed ? claim.row : await settleExisting(claim.row, claimValues, log);
    if (held !== null) await sendClaimed(request, held, log);
  };
}
