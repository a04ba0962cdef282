import { RejectRecord, type ChunkResult, type ConsumedRecord, type Logger, type Refusal } from '@lifecycle/kit';
import type { MessageRequested } from '@lifecycle/contracts';
import type { MarketingConsent, MarketingVerdict } from './consent-keeper.ts';
import type { Coupons } from './coupons.ts';
import type { SendRow } from './db/schema.ts';
import type { HeldClaim, NewClaim, SendsRepository } from './db/sends-repository.ts';
import { composeMail, type OutgoingMail } from './domain/outgoing-mail.ts';
import { decideRetry, type RetryPolicy } from './domain/retry-policy.ts';
import { assertNever, isFinal, shouldSuppress, verdictForExistingClaim, type AttemptMemory, type FinalOutcome } from './domain/send-policy.ts';
import { preferencesLink, unsubscribeLinks } from './domain/unsubscribe-token.ts';
import type { MessagingMetrics } from './metrics.ts';
import type { TemplateCatalog } from './template-catalog.ts';
import type { UnsubscribeTokens } from './unsubscribe-tokens.ts';
import type { MailTransport, SendOutcome } from './transport/mail-transport.ts';
import type { SendSlots } from './send-slots.ts';

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
  /** The customer's consent (and address-level suppressions), asked for every marketing message (a chunk's at once). */
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
  /** The provider calls this process may have open at once (`SEND_CONCURRENCY`). */
  slots: SendSlots;
  /**
   * `CLOCK=simulated`: a request's outcome is reported as of the instant the scheduler requested
   * it (a walked clock may already be a step further when messaging gets to the mail, and a
   * replay of the same year must report the same times); otherwise as of `now()`.
   */
  reportAtRequestTime?: boolean;
  /** Hands out the code of a request with an offer; unset: such a request is skipped (`no_coupon`). */
  coupons?: Coupons;
  /** Which recipients' addresses were erased (privacy.ts) and not subscribed again since: their marketing is suppressed. */
  erased?: (recipients: readonly { customerId: string; email: string }[]) => Promise<boolean[]>;
}

export interface MessageRequestedHandler {
  /** One record: claim, settle or send, record the outcome (the path of a record retried alone). */
  handle: (request: MessageRequested, record?: ConsumedRecord) => Promise<void>;
  /** A chunk of one partition's records, a statement per step for all of them; unrenderable records come back refused. */
  handleBatch: (items: { value: MessageRequested; record: ConsumedRecord }[]) => Promise<ChunkResult>;
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
export function messageRequestedHandler(deps: MessageHandlerDeps): MessageRequestedHandler {
  const { sends, consent, templates, transport, now, metrics, slots } = deps;
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

  const compose = async (request: MessageRequested, log: Logger, known?: { token: string | undefined; preferencesToken: string | undefined }, extra?: Record<string, unknown>): Promise<Composed> => {
    const { payload } = request;
    const lookup = await templates.get(payload.templateId);
    if (!lookup.ok) return { ok: false, error: lookup.error };
    const declared = lookup.template.meta.category;
    if (declared !== payload.category) {
      // The request decides (it is what consent was checked against); the mismatch is worth a look.
      log.warn({ requestedCategory: payload.category, templateCategory: declared }, 'requested category differs from the template category');
    }
    let data = extra === undefined ? payload.data : { ...payload.data, ...extra };
    let headers: Record<string, string> | undefined;
    if (payload.category === 'marketing') {
      const { tokens, publicUrl, mailto } = deps.unsubscribe;
      if (tokens === undefined) return { ok: false, error: 'marketing mail needs an unsubscribe link: set UNSUBSCRIBE_SECRET' };
      const links = unsubscribeLinks({ token: known?.token ?? (await tokens.issue(payload.recipient.email, now())), publicUrl, mailto });
      // The preference page's own token: an unsubscribe token does not open it, nor the other way round.
      const preferencesToken = known?.preferencesToken ?? (await tokens.issue(payload.recipient.email, now(), 'preferences'));
      data = { ...data, unsubscribeUrl: links.url, preferencesUrl: preferencesLink({ token: preferencesToken, publicUrl, locale: payload.locale }) };
      headers = links.headers;
    }
    const rendered = lookup.template.compiled.render(data, { locale: payload.locale, timeZone: payload.timeZone, campaignId: payload.campaignId });
    if (!rendered.ok) return { ok: false, error: `template "${payload.templateId}" failed to render: ${rendered.error}` };
    return { ok: true, mail: composeMail(request, lookup.template.meta, rendered.content, headers) };
  };

  /** When an outcome of this request is reported as having happened (see `reportAtRequestTime`). */
  const reportAt = (request: MessageRequested): Date | undefined => (deps.reportAtRequestTime === true ? new Date(request.occurredAt) : undefined);

  /** Records the outcome of the attempt holding `claimToken` for `request`, and with it its status report. */
  const finishAndReport = async (key: string, claimToken: string | null, outcome: FinalOutcome, request: MessageRequested, keepRequest = false): Promise<void> => {
    const row = await sends.finish(key, outcome, now(), claimToken, keepRequest ? request : undefined, reportAt(request));
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
          await finishAndReport(row.dedupeKey, row.claimToken, verdict.outcome, claim.request);
          return null;
        case 'mark-doubtful': {
          const error = 'an earlier attempt stopped before recording whether the provider accepted the message';
          log.warn({ claimedAt: row.claimedAt.toISOString() }, 'earlier attempt left no outcome, marked doubtful, nothing sent');
          // The request in hand goes on the row (a row claimed before requests were kept has none), so an operator can release it.
          await finishAndReport(row.dedupeKey, row.claimToken, { status: 'doubtful', error }, claim.request, true);
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

  type Prepared = { send: OutgoingMail } | { outcome: FinalOutcome; refusal?: string };

  /** A marketing request's consent verdict and link token, read for a whole chunk at once. */
  type Known = { verdict: MarketingVerdict; token: string | undefined; preferencesToken: string | undefined; erased: boolean };

  /**
   * What a claimed request comes to before any provider call: a mail to send, or an outcome
   * (suppressed, failed to render). `known`: its consent and token, already read with its chunk's.
   */
  const prepare = async (request: MessageRequested, log: Logger, known?: Known): Promise<Prepared> => {
    if (request.payload.category === 'marketing') {
      const erased = known?.erased ?? (await deps.erased?.([{ customerId: request.customerId, email: request.payload.recipient.email }]))?.[0] === true;
      if (erased) {
        log.info({ reason: 'erased' }, 'recipient is suppressed, marketing message skipped');
        return { outcome: { status: 'suppressed', error: 'recipient suppressed: erased' } };
      }
      const verdict = known?.verdict ?? (await consent.marketingVerdict(request.customerId, request.payload.recipient.email, request.payload.topic));
      if (shouldSuppress(request.payload.category, !verdict.allowed)) {
        const reason = verdict.allowed ? 'unknown' : verdict.reason;
        log.info({ reason }, 'recipient is suppressed, marketing message skipped');
        return { outcome: { status: 'suppressed', error: `recipient suppressed: ${reason}` } };
      }
    }
    let extra: Record<string, unknown> | undefined;
    if (request.payload.offer !== undefined) {
      // After consent: a suppressed customer takes no code. The code is the key's for good, so a retry or redelivery gets it again.
      const got = deps.coupons === undefined ? { kind: 'skip' as const, error: 'no_coupon: messaging has no coupon pools' } : await deps.coupons.offerFor(request, now(), log);
      switch (got.kind) {
        case 'none':
          break;
        case 'offer':
          extra = { offer: got.offer };
          break;
        case 'skip':
          return { outcome: { status: 'skipped', error: got.error } };
        case 'fail':
          return { outcome: { status: 'failed', error: got.error } };
        default:
          assertNever(got);
      }
    }
    const composed = await compose(request, log, known, extra);
    if (!composed.ok) return { outcome: { status: 'failed', error: composed.error }, refusal: composed.error };
    return { send: composed.mail };
  };

  type Answer = { record: FinalOutcome } | { retryInMs: number };

  /** What the provider's answer to attempt `attempt` means for the key; remembers it until it is on the row. */
  const judge = (key: string, token: string, outcome: SendOutcome, attempt: number, log: Logger): Answer => {
    switch (outcome.kind) {
      case 'accepted': {
        const sent: FinalOutcome = { status: 'sent', providerMessageId: outcome.providerMessageId };
        remember(key, { claimToken: token, provider: 'answered', outcome: sent });
        log.info({ providerMessageId: outcome.providerMessageId, transport: transport.name, attempt }, 'message sent');
        return { record: sent };
      }
      case 'rejected': {
        const failed: FinalOutcome = { status: 'failed', error: outcome.error };
        remember(key, { claimToken: token, provider: 'answered', outcome: failed });
        log.warn({ httpStatus: outcome.status, error: outcome.error }, 'message rejected by the mail provider');
        return { record: failed };
      }
      case 'unknown':
        // A timeout or dropped connection: SendGrid may have taken it. Never risk a second copy.
        log.warn({ error: outcome.error }, 'mail provider gave no answer, marked doubtful');
        return { record: { status: 'doubtful', error: outcome.error } };
      case 'retryable': {
        // The provider did not take it: should recording that fail, this process still knows.
        remember(key, { claimToken: token, provider: 'not-called' });
        const decision = decideRetry(deps.retry, attempt, outcome.retryAfterMs, deps.random());
        if (decision.action === 'give-up') {
          const error = `gave up after ${attempt} attempts: ${outcome.error}`;
          log.warn({ httpStatus: outcome.status, attempt, error: outcome.error }, 'mail provider kept refusing, message failed');
          return { record: { status: 'failed', error } };
        }
        metrics.countRetry(outcome.status === 429 ? 'rate-limited' : outcome.status === null ? 'unreachable' : 'provider-error');
        log.warn({ httpStatus: outcome.status, attempt, delayMs: decision.delayMs, error: outcome.error }, 'mail provider did not accept the message, retrying');
        return { retryInMs: decision.delayMs };
      }
      default:
        return assertNever(outcome);
    }
  };

  /** After a definite non-acceptance: back to `claimed` while waiting, so a crash now loses nothing (the redelivery sends). */
  const waitToRetry = async (key: string, token: string, delayMs: number): Promise<void> => {
    await sends.release(key, token, now());
    // Rejects when the service stops; the key is `claimed` again, so the redelivery sends.
    await deps.sleep(delayMs);
  };

  /** Calls the provider for a claimed key from attempt `first` on, until the outcome is recorded. */
  const sendLoop = async (request: MessageRequested, key: string, token: string, mail: OutgoingMail, log: Logger, first: number): Promise<void> => {
    for (let attempt = first; ; attempt++) {
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
      const answer = judge(key, token, await transport.send(mail), attempt, log);
      if ('record' in answer) {
        await finishAndReport(key, token, answer.record, request);
        return;
      }
      await waitToRetry(key, token, answer.retryInMs);
    }
  };

  const sendClaimed = async (request: MessageRequested, claimed: SendRow, log: Logger): Promise<void> => {
    const key = claimed.dedupeKey;
    const token = claimed.claimToken;
    if (token === null) throw new Error('a claim without a claim token');
    // Until the row says `sending`, nothing has gone out: a failure anywhere before leaves the
    // key `claimed`, which the redelivery takes over. The memory covers the one ambiguous step,
    // marking `sending` itself (committed but its answer lost).
    remember(key, { claimToken: token, provider: 'not-called' });
    const prepared = await prepare(request, log);
    if ('outcome' in prepared) {
      await finishAndReport(key, token, prepared.outcome, request);
      if (prepared.refusal !== undefined) throw new RejectRecord('message could not be rendered', [prepared.refusal]);
      return;
    }
    await slots.take(1);
    try {
      await sendLoop(request, key, token, prepared.send, log, 1);
    } finally {
      slots.give(1);
    }
  };

  const logFor = (request: MessageRequested): Logger =>
    deps.logger.child({
      messageId: request.id,
      dedupeKey: request.payload.dedupeKey,
      customerId: request.customerId,
      campaignId: request.payload.campaignId,
      templateId: request.payload.templateId,
    });

  const claimOf = (request: MessageRequested): NewClaim => ({
    dedupeKey: request.payload.dedupeKey,
    messageId: request.id,
    customerId: request.customerId,
    campaignId: request.payload.campaignId,
    templateId: request.payload.templateId,
    request,
  });

  /** Records the outcomes of attempts holding their claims, with their status reports, in one transaction. */
  const finishAll = async (outcomes: (HeldClaim & { outcome: FinalOutcome; reportAt?: Date | undefined })[]): Promise<void> => {
    if (outcomes.length === 0) return;
    const rows = await sends.finishMany(
      outcomes.map(({ reportAt: at, ...o }) => (at === undefined ? o : { ...o, reportAt: at })),
      now(),
    );
    for (const { dedupeKey } of outcomes) memory.delete(dedupeKey);
    for (const row of rows) if (isFinal(row.status)) metrics.countOutcome(row.status);
  };

  interface Ready {
    request: MessageRequested;
    log: Logger;
    key: string;
    token: string;
    mail: OutgoingMail;
  }

  /**
   * One wave of a chunk's sends, at most one per customer, each holding a send slot: paced, marked
   * `sending` in one statement (committed before any call), called at once, their outcomes
   * recorded in one transaction. Returns the sends the provider refused for now, each still
   * holding its slot, to be retried after their wait.
   */
  const sendWave = async (wave: Ready[]): Promise<{ ready: Ready; attempt: number; retryInMs: number }[]> => {
    // Shutting down rejects here, before any call: the keys stay `claimed` for the next run.
    await Promise.all(wave.map(() => deps.pace()));
    const marked = await sends.markSendingMany(
      wave.map((r) => ({ dedupeKey: r.key, claimToken: r.token })),
      now(),
    );
    const calling: Ready[] = [];
    for (const ready of wave) {
      // Marked: only the provider's answer says now whether the mail went out. Not marked: a
      // redelivery elsewhere took the key over while this attempt had sent nothing; it sends.
      memory.delete(ready.key);
      if (marked.has(ready.key)) calling.push(ready);
      else ready.log.info('claim taken over by another attempt, nothing sent here');
    }
    const answers = await Promise.all(calling.map(async (ready) => ({ ready, answer: judge(ready.key, ready.token, await transport.send(ready.mail), 1, ready.log) })));
    const outcomes: (HeldClaim & { outcome: FinalOutcome; reportAt: Date | undefined })[] = [];
    const retries: { ready: Ready; attempt: number; retryInMs: number }[] = [];
    for (const { ready, answer } of answers) {
      if ('record' in answer) outcomes.push({ dedupeKey: ready.key, claimToken: ready.token, outcome: answer.record, reportAt: reportAt(ready.request) });
      else retries.push({ ready, attempt: 1, retryInMs: answer.retryInMs });
    }
    await finishAll(outcomes);
    return retries;
  };

  /** The first pending send of each customer not waiting on a retry, in chunk order. */
  const nextWave = (pending: Ready[], waiting: ReadonlyMap<string, unknown>): Ready[] => {
    const seen = new Set<string>(waiting.keys());
    const wave: Ready[] = [];
    for (const ready of pending) {
      if (!seen.has(ready.request.customerId)) wave.push(ready);
      seen.add(ready.request.customerId);
    }
    return wave;
  };

  /** The consent verdicts of a chunk's marketing requests and the link tokens of those allowed, a statement per step. */
  const marketingKnown = async (requests: MessageRequested[]): Promise<Map<MessageRequested, Known>> => {
    const marketing = requests.filter((r) => r.payload.category === 'marketing');
    const [verdicts, erased] = await Promise.all([
      consent.marketingVerdicts(marketing.map((r) => ({ customerId: r.customerId, email: r.payload.recipient.email, topic: r.payload.topic }))),
      deps.erased?.(marketing.map((r) => ({ customerId: r.customerId, email: r.payload.recipient.email }))) ?? [],
    ]);
    // No link (nor its address id row) for an erased address: it is suppressed before any mail is made.
    const allowed = marketing.filter((_, i) => verdicts[i]?.allowed === true && erased[i] !== true).map((r) => r.payload.recipient.email);
    const issuer = deps.unsubscribe.tokens;
    const none = new Map<string, string>();
    const tokens = issuer === undefined || allowed.length === 0 ? none : await issuer.issueMany(allowed, now());
    const preferencesTokens = issuer === undefined || allowed.length === 0 ? none : await issuer.issueMany(allowed, now(), 'preferences');
    const known = new Map<MessageRequested, Known>();
    marketing.forEach((request, i) => {
      const verdict = verdicts[i];
      const email = request.payload.recipient.email;
      if (verdict !== undefined) known.set(request, { verdict, token: tokens.get(email), preferencesToken: preferencesTokens.get(email), erased: erased[i] === true });
    });
    return known;
  };

  /**
   * A chunk of one partition's records, in offset order: claims in one statement, renders, then
   * waves of sends (`sendWave`); a customer's next record goes out only once the one before has
   * its outcome, so each customer's mail keeps its order. Redelivered keys are settled one by
   * one as in `handle`. Unrenderable records come back as refusals for the dead-letter topic.
   */
  const handleBatch = async (items: { value: MessageRequested; record: ConsumedRecord }[]): Promise<ChunkResult> => {
    const refused: Refusal[] = [];
    // A key twice in one chunk (a request published again): the copy is handled after the first has its outcome.
    const keys = new Set<string>();
    const firsts: typeof items = [];
    const copies: typeof items = [];
    for (const item of items) {
      (keys.has(item.value.payload.dedupeKey) ? copies : firsts).push(item);
      keys.add(item.value.payload.dedupeKey);
    }
    const claims = await sends.claimMany(
      firsts.map((item) => claimOf(item.value)),
      now(),
    );
    const held: { item: (typeof items)[number]; log: Logger; key: string; token: string }[] = [];
    for (const [i, item] of firsts.entries()) {
      const claim = claims[i];
      if (claim === undefined) throw new Error('a claim result is missing');
      const log = logFor(item.value);
      const row = claim.claimed ? claim.row : await settleExisting(claim.row, claimOf(item.value), log);
      if (row === null) continue;
      if (row.claimToken === null) throw new Error('a claim without a claim token');
      // Nothing has gone out under this claim yet (see `sendClaimed`).
      remember(row.dedupeKey, { claimToken: row.claimToken, provider: 'not-called' });
      held.push({ item, log, key: row.dedupeKey, token: row.claimToken });
    }
    const known = await marketingKnown(held.map((h) => h.item.value));
    const prepared = await Promise.all(held.map(async (h) => ({ ...h, prepared: await prepare(h.item.value, h.log, known.get(h.item.value)) })));
    const before: (HeldClaim & { outcome: FinalOutcome; reportAt: Date | undefined })[] = [];
    let pending: Ready[] = [];
    for (const { item, log, key, token, prepared: p } of prepared) {
      if ('send' in p) {
        pending.push({ request: item.value, log, key, token, mail: p.send });
        continue;
      }
      before.push({ dedupeKey: key, claimToken: token, outcome: p.outcome, reportAt: reportAt(item.value) });
      if (p.refusal !== undefined) refused.push({ record: item.record, reason: 'message could not be rendered', errors: [p.refusal] });
    }
    await finishAll(before);

    // Customers with a send waiting to retry (it holds its slot meanwhile), and what went wrong in one.
    const retrying = new Map<string, Promise<void>>();
    const failures: unknown[] = [];
    const retryLater = (retry: { ready: Ready; retryInMs: number }): void => {
      const { ready } = retry;
      const done = (async () => {
        try {
          await waitToRetry(ready.key, ready.token, retry.retryInMs);
          await sendLoop(ready.request, ready.key, ready.token, ready.mail, ready.log, 2);
        } catch (err) {
          failures.push(err);
        } finally {
          slots.give(1);
          retrying.delete(ready.request.customerId);
        }
      })();
      retrying.set(ready.request.customerId, done);
    };
    try {
      while (pending.length > 0 && failures.length === 0) {
        const candidates = nextWave(pending, retrying);
        if (candidates.length === 0) {
          await Promise.race(retrying.values());
          continue;
        }
        const taken = await slots.take(candidates.length);
        const wave = candidates.slice(0, taken);
        const inWave = new Set(wave);
        pending = pending.filter((ready) => !inWave.has(ready));
        // Slots a retrying send keeps until it is done; the rest come back once the wave's outcomes are recorded.
        let unused = taken;
        try {
          for (const retry of await sendWave(wave)) {
            unused -= 1;
            retryLater(retry);
          }
        } finally {
          slots.give(unused);
        }
      }
    } finally {
      // Every send in hand records its outcome (or is released) before the chunk ends.
      await Promise.all(retrying.values());
    }
    if (failures.length > 0) throw failures[0];
    for (const { value, record } of copies) await handle(value, record);
    return { refused };
  };

  const handle = async (request: MessageRequested, _record?: ConsumedRecord): Promise<void> => {
    const log = logFor(request);
    const claimValues = claimOf(request);
    const claim = await sends.claim(claimValues, now());
    const held = claim.claimed ? claim.row : await settleExisting(claim.row, claimValues, log);
    if (held !== null) await sendClaimed(request, held, log);
  };

  return { handle, handleBatch };
}
