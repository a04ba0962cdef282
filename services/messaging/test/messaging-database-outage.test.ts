import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { MessageRequested } from '@lifecycle/contracts';
import { createDatabase, createPool, openRuntime, publish, type Database, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid, type FakeSendGridRequest } from '@lifecycle/tools/fake-sendgrid';
import { startTcpProxy, type TcpProxy } from '@lifecycle/tools/tcp-proxy';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { sendRow, statusEvents, thankYouRequest } from './message-requests.ts';

/** The claim: the first statement a request runs against the database. */
const CLAIM = 'insert into "messaging"."sends"';
/** `claimed` -> `sending` (and back after a refusal): the statement just before the provider call. */
const MARK_SENDING = 'update "messaging"."sends" set "status" = $1, "updated_at" = $2 where';
/** The outcome's status written to the outbox: the last statement of the outcome's transaction, before its commit. */
const STATUS_TO_OUTBOX = 'INSERT INTO "messaging".outbox';

const LogLine = z.looseObject({ msg: z.string(), topic: z.string().optional() });
type LogLine = z.infer<typeof LogLine>;

let infra: TestInfra;
let proxy: TcpProxy;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;
/** Straight to PostgreSQL, past the proxy: what the rows say while the service cannot see them. */
let direct: { pool: ReturnType<typeof createPool>; db: Database };
const logs: LogLine[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  const database = new URL(infra.databaseUrl);
  proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
  database.port = String(proxy.port);
  const config = loadConfig({
    ...serviceEnv(infra),
    DATABASE_URL: database.toString(),
    PORT: '0',
    SENDGRID_API_KEY: 'SG.test-key',
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_RETRY_BASE_MS: '50',
    SENDGRID_SENDS_PER_SECOND: '1000',
    UNSUBSCRIBE_SECRET: 'test-unsubscribe-secret-0123456789abcdef',
  });
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(LogLine.parse(JSON.parse(chunk.toString('utf8'))));
      done();
    },
  });
  const logger = pino({ level: 'warn', base: { service: 'messaging' } }, logStream);
  runtime = await openRuntime({ service: 'messaging', config, logger, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50, outagePauseMs: 500 });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
  const pool = createPool(infra.databaseUrl, 2);
  direct = { pool, db: createDatabase(pool) };
});

afterAll(async () => {
  // A test that failed during an outage leaves the proxy cut; the service needs its database to stop cleanly.
  await proxy?.restore();
  await Promise.all([events?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  await direct?.pool.end();
  await proxy?.cut();
  await sendgrid?.close();
});

function postsFor(dedupeKey: string): FakeSendGridRequest[] {
  return sendgrid.requests.filter((r) => SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey === dedupeKey);
}

function marketingRequest(n: string): MessageRequested {
  const base = thankYouRequest(n, { category: 'marketing', campaignId: 'newsletter' });
  return { ...base, payload: { ...base.payload, dedupeKey: `newsletter:${base.customerId}:${n}` } };
}

/**
 * Publishes `req` with the database link armed to drop right after PostgreSQL answered the
 * statement containing `statement`; resolves once the consumer has run into the outage.
 */
async function requestThroughOutage(req: MessageRequested, statement: string): Promise<void> {
  // The previous request must be fully recorded (reported too), so the armed statement is this one's.
  const seen = logs.length;
  const lost = proxy.cutAfterReplyTo(statement);
  await publish(producer, infra.prefix, 'messagesRequested', [req]);
  await lost;
  // The consumer looked: its next statement failed and it paused for the outage.
  await eventually(() => expect(logs.slice(seen).map((l) => l.msg)).toContain('partition paused, Kafka or the database is unavailable'), 30_000);
}

async function sentOnce(req: MessageRequested): Promise<void> {
  const key = req.payload.dedupeKey;
  await eventually(() => expect(statusEvents(events.records, key).map((e) => e.payload.status)).toEqual(['sent']), 60_000);
  const row = await eventually(async () => {
    const found = await sendRow(direct.db, key);
    expect(found?.reportedAt).not.toBeNull();
    return found;
  });
  const accepted = postsFor(key).filter((p) => p.status === 202);
  expect(accepted).toHaveLength(1);
  expect(row).toMatchObject({ status: 'sent', providerMessageId: accepted[0]?.messageId });
}

describe('messaging when its database drops mid-send', () => {
  it.each([
    ['a receipt (next statement: marking it sending)', thankYouRequest('cut-after-claim')],
    ['marketing mail (next statement: the suppression lookup)', marketingRequest('cut-after-claim-marketing')],
  ])('sends %s exactly once after the database comes back, when the link dropped right after the claim', async (_what, req) => {
    await requestThroughOutage(req, CLAIM);
    // Claimed, nothing went out, and the key is held as `claimed`, not as a send in flight.
    expect(postsFor(req.payload.dedupeKey)).toEqual([]);
    expect(await sendRow(direct.db, req.payload.dedupeKey)).toMatchObject({ status: 'claimed' });
    await proxy.restore();
    await sentOnce(req);
  });

  it('records the provider’s acceptance it could not write down, without sending again or calling it doubtful', async () => {
    const req = thankYouRequest('cut-after-mark-sending');
    await requestThroughOutage(req, MARK_SENDING);
    // The call went out and was answered; only its record is missing.
    expect(postsFor(req.payload.dedupeKey).map((p) => p.status)).toEqual([202]);
    expect(await sendRow(direct.db, req.payload.dedupeKey)).toMatchObject({ status: 'sending' });
    await proxy.restore();
    await sentOnce(req);
  });

  it('reports the outcome once when the link dropped after its status was written but before the commit: the rolled-back status never goes out', async () => {
    const req = thankYouRequest('cut-before-outcome-commit');
    const key = req.payload.dedupeKey;
    await requestThroughOutage(req, STATUS_TO_OUTBOX);
    expect(postsFor(key).map((p) => p.status)).toEqual([202]);
    // The transaction rolled back: the row says `sending`, and its status is not in the outbox.
    expect(await sendRow(direct.db, key)).toMatchObject({ status: 'sending', reportedAt: null });
    expect((await direct.pool.query('SELECT count(*)::int AS n FROM messaging.outbox')).rows).toEqual([{ n: 0 }]);
    await proxy.restore();
    await sentOnce(req);
    await service.outbox.drained();
    expect(statusEvents(events.records, key).map((e) => e.payload.status)).toEqual(['sent']);
  });

  it('sends once after a refusal it could not write down, instead of marking a mail that never went out doubtful', async () => {
    const req = thankYouRequest('cut-then-refused');
    sendgrid.failNext(503);
    await requestThroughOutage(req, MARK_SENDING);
    expect(postsFor(req.payload.dedupeKey).map((p) => p.status)).toEqual([503]);
    expect(await sendRow(direct.db, req.payload.dedupeKey)).toMatchObject({ status: 'sending' });
    await proxy.restore();
    await sentOnce(req);
    expect(postsFor(req.payload.dedupeKey).map((p) => p.status)).toEqual([503, 202]);
  });
});
