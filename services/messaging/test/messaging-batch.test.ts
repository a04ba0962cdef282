import { join } from 'node:path';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRequested } from '@lifecycle/contracts';
import { createOutbox, openRuntime, type ConsumedRecord, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { createTestInfra, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { createConsentKeeper } from '../src/consent-keeper.ts';
import { messageRequestedHandler, type MessageHandlerDeps, type MessageRequestedHandler } from '../src/consumer.ts';
import { createAddressIdsRepository } from '../src/db/address-ids-repository.ts';
import { createConsentRepository } from '../src/db/consent-repository.ts';
import { sends } from '../src/db/schema.ts';
import { createSendsRepository, type SendsRepository } from '../src/db/sends-repository.ts';
import { createSuppressionsRepository } from '../src/db/suppressions-repository.ts';
import { createMessagingMetrics } from '../src/metrics.ts';
import { createSendSlots } from '../src/send-slots.ts';
import { createTemplateCatalog } from '../src/template-catalog.ts';
import { createUnsubscribeTokens, type UnsubscribeTokens } from '../src/unsubscribe-tokens.ts';
import { createSendGridTransport } from '../src/transport/sendgrid-transport.ts';
import { thankYouRequest } from './message-requests.ts';

/** The provider calls the handler may have open at once. */
const SEND_CONCURRENCY = 4;
/** How long the fake SendGrid takes to answer, so calls that overlap would show it. */
const RESPOND_AFTER_MS = 50;

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let repository: SendsRepository;
let handler: MessageRequestedHandler;
let outboxBacklog: () => Promise<number>;
/** The same handler, with unsubscribe links (marketing mail needs them) and the consent it reads. */
let marketingHandler: MessageRequestedHandler;
let tokens: UnsubscribeTokens;
let consent: ReturnType<typeof createConsentKeeper>;
let consentRepository: ReturnType<typeof createConsentRepository>;
/** The same handler as a stack on a simulated clock runs it. */
let simulatedHandler: MessageRequestedHandler;

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0', SENDGRID_API_KEY: 'SG.test-key', SENDGRID_BASE_URL: sendgrid.url });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  const now = (): Date => new Date();
  // The relay is not started: what the handler reports stays in the outbox, to be counted.
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'messaging', prefix: runtime.prefix, logger: runtime.logger, now });
  outboxBacklog = outbox.backlog;
  repository = createSendsRepository({ db: runtime.db, pool: runtime.pool, outbox });
  const suppressions = createSuppressionsRepository(runtime.db);
  await suppressions.suppress('bounced.reader@example.com', 'bounced', 'sendgrid-webhook', now());
  consentRepository = createConsentRepository({ db: runtime.db, pool: runtime.pool, outbox });
  consent = createConsentKeeper({ repository: consentRepository, suppressions, logger: runtime.logger, now });
  tokens = createUnsubscribeTokens({ ids: createAddressIdsRepository(runtime.db), secrets: { current: 'batch-test-unsubscribe-secret-0123456789' }, acceptLegacy: false });
  const deps: MessageHandlerDeps = {
    sends: repository,
    consent,
    templates: createTemplateCatalog({ dir: config.TEMPLATES_DIR }),
    transport: createSendGridTransport({ apiKey: 'SG.test-key', baseUrl: sendgrid.url, timeoutMs: 10_000 }),
    logger: runtime.logger,
    now,
    // A retry waits long enough (≈ 100 ms) that a customer's next message not held behind it would go out first.
    retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 400 },
    unsubscribe: { tokens: undefined, publicUrl: 'https://mail.example.com', mailto: undefined },
    metrics: createMessagingMetrics({ byStatus: repository.countByStatus, logger: runtime.logger }),
    pace: async () => {},
    sleep: async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    random: () => 0.5,
    slots: createSendSlots(SEND_CONCURRENCY),
  };
  handler = messageRequestedHandler(deps);
  marketingHandler = messageRequestedHandler({ ...deps, unsubscribe: { tokens, publicUrl: 'https://mail.example.com', mailto: undefined } });
  simulatedHandler = messageRequestedHandler({ ...deps, reportAtRequestTime: true });
});

afterAll(async () => {
  await runtime?.close();
  await sendgrid?.close();
});

/** Records as the consumer hands them over: one partition, in offset order. */
function chunk(requests: MessageRequested[]): { value: MessageRequested; record: ConsumedRecord }[] {
  return requests.map((value, offset) => ({ value, record: { topic: 'messages.requested', partition: 0, offset: String(offset), key: value.customerId, timestamp: 0 } }));
}

function postedKeys(): string[] {
  return sendgrid.accepted().map((r) => SendGridMail.parse(r.body).custom_args?.dedupeKey ?? '');
}

describe('a chunk of messages.requested handled as one batch', () => {
  it('sends each message once, in order per customer, and skips what is settled, suppressed or cut off mid-call', async () => {
    const alreadySent = thankYouRequest('batch-already-sent');
    await handler.handle(alreadySent);
    // A claim whose attempt died before the call (nothing went out) and one whose attempt died mid-call.
    const leftClaimed = thankYouRequest('batch-left-claimed');
    const leftSending = thankYouRequest('batch-left-sending');
    for (const left of [leftClaimed, leftSending]) {
      const { dedupeKey, campaignId, templateId } = left.payload;
      const claim = await repository.claim({ dedupeKey, campaignId, templateId, messageId: left.id, customerId: left.customerId, request: left }, new Date());
      if (!claim.claimed || claim.row.claimToken === null) throw new Error('the test claim was not taken');
      if (left === leftSending) expect(await repository.markSending(left.payload.dedupeKey, claim.row.claimToken, new Date())).toBe(true);
    }
    sendgrid.reset();
    sendgrid.respondAfter(RESPOND_AFTER_MS);

    const ordered = ['first', 'second', 'third'].map((n) => ({ ...thankYouRequest(`batch-ordered-${n}`), customerId: 'cust-batch-ordered' }));
    const others = Array.from({ length: 6 }, (_, i) => thankYouRequest(`batch-other-${i}`));
    const suppressedBase = thankYouRequest('batch-suppressed', { category: 'marketing', campaignId: 'newsletter' });
    const suppressed: MessageRequested = { ...suppressedBase, payload: { ...suppressedBase.payload, recipient: { email: 'Bounced.Reader@example.com', name: 'Ada' } } };
    const unrenderable = thankYouRequest('batch-no-template', { templateId: 'no-such-template' });
    const requests = [ordered[0], alreadySent, ...others.slice(0, 3), ordered[1], leftClaimed, suppressed, leftSending, ordered[2], unrenderable, ...others.slice(3), alreadySent, ordered[0]].filter((r) => r !== undefined);
    const backlogBefore = await outboxBacklog();

    const result = await handler.handleBatch(chunk(requests));

    expect(result.refused?.map((r) => r.errors.join())).toEqual([expect.stringContaining('no-such-template')]);
    const keys = new Set(requests.map((r) => r.payload.dedupeKey));
    const posted = postedKeys();
    const shouldGo = [...ordered, ...others, leftClaimed].map((r) => r.payload.dedupeKey);
    expect(posted.toSorted()).toEqual(shouldGo.toSorted());
    expect(posted.filter((key) => ordered.some((o) => o.payload.dedupeKey === key))).toEqual(ordered.map((o) => o.payload.dedupeKey));
    // One customer's calls never overlap: each starts only after the one before was answered (RESPOND_AFTER_MS later).
    const orderedCalls = sendgrid.accepted().filter((r) => ordered.some((o) => o.payload.dedupeKey === SendGridMail.parse(r.body).custom_args?.dedupeKey));
    for (const [i, call] of orderedCalls.entries()) if (i > 0) expect(call.receivedAt - (orderedCalls[i - 1]?.receivedAt ?? 0)).toBeGreaterThanOrEqual(RESPOND_AFTER_MS - 5);
    // Different customers were called side by side, never more than the slots allow.
    expect(sendgrid.peakConcurrency()).toBeGreaterThan(1);
    expect(sendgrid.peakConcurrency()).toBeLessThanOrEqual(SEND_CONCURRENCY);

    const rows = await runtime.db.select().from(sends).where(inArray(sends.dedupeKey, [...keys]));
    const statusOf = new Map(rows.map((r) => [r.dedupeKey, r.status]));
    for (const key of shouldGo) expect(statusOf.get(key)).toBe('sent');
    expect(statusOf.get(alreadySent.payload.dedupeKey)).toBe('sent');
    expect(statusOf.get(suppressed.payload.dedupeKey)).toBe('suppressed');
    expect(statusOf.get(unrenderable.payload.dedupeKey)).toBe('failed');
    expect(statusOf.get(leftSending.payload.dedupeKey)).toBe('doubtful');
    // Every outcome recorded here was reported once, in the transaction that recorded it.
    expect((await outboxBacklog()) - backlogBefore).toBe(shouldGo.length + 3);
  });

  it('retries a send SendGrid refused for now on its own, once accepted sends it once, and keeps that customer’s next message behind it', async () => {
    sendgrid.reset();
    sendgrid.respondAfter(0);
    const refusedFirst = { ...thankYouRequest('batch-retry-first'), customerId: 'cust-batch-retry' };
    const refusedNext = { ...thankYouRequest('batch-retry-next'), customerId: 'cust-batch-retry' };
    const others = Array.from({ length: 3 }, (_, i) => thankYouRequest(`batch-retry-other-${i}`));
    // One call of the first wave (most likely the first customer's first message) is answered 500.
    sendgrid.failNext(500);

    const result = await handler.handleBatch(chunk([refusedFirst, ...others, refusedNext]));

    expect(result.refused ?? []).toEqual([]);
    const key = (r: MessageRequested): string => r.payload.dedupeKey;
    const calls = sendgrid.requests.map((r) => ({ key: SendGridMail.parse(r.body).custom_args?.dedupeKey, status: r.status }));
    // Calls of one wave may reach the fake in any order: whichever got the 500 was tried again, once.
    const refusedKey = calls.find((c) => c.status === 500)?.key;
    expect(refusedKey).toBeDefined();
    for (const r of [refusedFirst, ...others, refusedNext]) expect(calls.filter((c) => c.key === key(r)).map((c) => c.status)).toEqual(key(r) === refusedKey ? [500, 202] : [202]);
    // The customer's next message went out only after the retried one was accepted.
    const accepted = postedKeys();
    expect(accepted.indexOf(key(refusedNext))).toBeGreaterThan(accepted.indexOf(key(refusedFirst)));
    const rows = await runtime.db.select().from(sends).where(inArray(sends.dedupeKey, [refusedFirst, refusedNext, ...others].map(key)));
    expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'sent'));
    expect(rows).toHaveLength(5);
  });

  it('reads the consent of a chunk’s marketing mail at once: sends to those allowed, each with its own address’s link, and suppresses the rest with the reason', async () => {
    sendgrid.reset();
    sendgrid.respondAfter(0);
    const marketing = (n: string, email?: string, customerId?: string): MessageRequested => {
      const base = thankYouRequest(`batch-mkt-${n}`, { category: 'marketing', campaignId: 'newsletter' });
      return { ...base, customerId: customerId ?? base.customerId, payload: { ...base.payload, ...(email === undefined ? {} : { recipient: { email, name: 'Ada' } }) } };
    };
    // Left all marketing: the customer, and at the same address under another id the store filed.
    await consent.record({ customerId: 'cust-batch-mkt-left', email: 'left.reader@example.com' }, { kind: 'unsubscribe', at: new Date(), source: 'unsubscribe-link' }, 'batch-mkt-cause');
    const allowed = [marketing('a'), marketing('b'), marketing('c', 'Shared.Reader@example.com'), marketing('d', 'shared.reader@example.com')];
    const left = marketing('left', 'left.reader@example.com', 'cust-batch-mkt-left');
    const sameAddress = marketing('same-address', 'LEFT.reader@example.com');
    const bounced = marketing('bounced', 'bounced.reader@example.com');
    const receipt = { ...thankYouRequest('batch-mkt-receipt'), customerId: 'cust-batch-mkt-left' };
    const requests = [allowed[0], left, allowed[1], sameAddress, bounced, allowed[2], receipt, allowed[3]].filter((r) => r !== undefined);

    const result = await marketingHandler.handleBatch(chunk(requests));

    expect(result.refused ?? []).toEqual([]);
    const rows = await runtime.db.select().from(sends).where(inArray(sends.dedupeKey, requests.map((r) => r.payload.dedupeKey)));
    const rowOf = (r: MessageRequested) => rows.find((row) => row.dedupeKey === r.payload.dedupeKey);
    for (const r of [...allowed, receipt]) expect(rowOf(r)?.status).toBe('sent');
    expect(rowOf(left)).toMatchObject({ status: 'suppressed', error: 'recipient suppressed: unsubscribed' });
    expect(rowOf(sameAddress)).toMatchObject({ status: 'suppressed', error: 'recipient suppressed: unsubscribed' });
    expect(rowOf(bounced)).toMatchObject({ status: 'suppressed', error: 'recipient suppressed: bounced' });
    // Each marketing mail's unsubscribe link stands for its own address (one id per address, whatever its case).
    const linkOf = new Map<string, string>();
    for (const request of sendgrid.accepted()) {
      const mail = SendGridMail.parse(request.body);
      const link = /<(https:[^>]+)>/.exec(mail.headers?.['List-Unsubscribe'] ?? '')?.[1];
      if (link !== undefined) linkOf.set(mail.custom_args?.dedupeKey ?? '', link);
    }
    expect([...linkOf.keys()].toSorted()).toEqual(allowed.map((r) => r.payload.dedupeKey).toSorted());
    for (const r of allowed) {
      const token = new URL(linkOf.get(r.payload.dedupeKey) ?? '').searchParams.get('token') ?? '';
      expect(await tokens.resolve(token)).toMatchObject({ ok: true, email: r.payload.recipient.email.toLowerCase() });
    }
    expect(linkOf.get(allowed[2]?.payload.dedupeKey ?? '')).toBe(linkOf.get(allowed[3]?.payload.dedupeKey ?? ''));
    // Asking learned whose address it is, so a link naming only the address finds every customer at it.
    expect(await consentRepository.customersOf('shared.reader@example.com')).toEqual([allowed[2]?.customerId, allowed[3]?.customerId].toSorted());
  });

  it('on a simulated clock reports each outcome as of when its request was made, however far the clock has walked since', async () => {
    sendgrid.reset();
    sendgrid.respondAfter(0);
    // Requested at the end of a walked day; the clock has since walked on (here: real time, hours later).
    const requestedAt = new Date(Date.now() - 5 * 3_600_000).toISOString();
    const at = (r: MessageRequested): MessageRequested => ({ ...r, occurredAt: requestedAt });
    const sent = at(thankYouRequest('batch-sim-sent'));
    const suppressedBase = at(thankYouRequest('batch-sim-suppressed', { category: 'marketing', campaignId: 'newsletter' }));
    const suppressed = { ...suppressedBase, payload: { ...suppressedBase.payload, recipient: { email: 'bounced.reader@example.com', name: 'Ada' } } };
    const alone = at(thankYouRequest('batch-sim-alone'));

    await simulatedHandler.handleBatch(chunk([sent, suppressed]));
    await simulatedHandler.handle(alone);

    const reported = await runtime.pool.query<{ value: string }>("SELECT value FROM messaging.outbox WHERE topic LIKE '%messages.events' AND value LIKE '%batch-sim-%'");
    const events = reported.rows.map((r) => JSON.parse(r.value) as { occurredAt: string; payload: { dedupeKey: string; status: string } });
    expect(events.map((e) => [e.payload.dedupeKey, e.payload.status, e.occurredAt]).toSorted()).toEqual(
      [
        [sent.payload.dedupeKey, 'sent', requestedAt],
        [suppressed.payload.dedupeKey, 'suppressed', requestedAt],
        [alone.payload.dedupeKey, 'sent', requestedAt],
      ].toSorted(),
    );
  });
});
