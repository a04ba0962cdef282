import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray } from 'drizzle-orm';
import { createDatabase, createPool, openRuntime, publish, type Database, type Producer } from '@lifecycle/kit';
import { startMessaging as startMessagingInProcess } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid, type FakeSendGridRequest } from '@lifecycle/tools/fake-sendgrid';
import { freePort } from '@lifecycle/tools/service-process';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { sends } from '../src/db/schema.ts';
import { isFinal } from '../src/domain/send-policy.ts';
import { thankYouRequest } from './message-requests.ts';

const main = join(import.meta.dirname, '..', 'src', 'main.ts');
/** Sends one process has open at once, so at most this many can be cut off by a kill. */
const SEND_CONCURRENCY = 8;

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let producer: Producer;
let pool: ReturnType<typeof createPool>;
let db: Database;
const children: ChildProcess[] = [];

/** The messaging service as its own process, ready once `/readyz` answers 200. */
async function startMessaging(): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...serviceEnv(infra), PORT: String(port), HOST: '127.0.0.1', SENDGRID_API_KEY: 'SG.test-key', SENDGRID_BASE_URL: sendgrid.url, SEND_CONCURRENCY: String(SEND_CONCURRENCY), LOG_LEVEL: 'error' },
    stdio: 'ignore',
  });
  children.push(child);
  await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 90_000, 250);
  return child;
}

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  producer = await connectedProducer(infra);
  pool = createPool(infra.databaseUrl, 2);
  db = createDatabase(pool);
});

async function stopChildren(): Promise<void> {
  await Promise.all(
    children
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        return exited;
      }),
  );
}

afterAll(async () => {
  await stopChildren();
  await producer?.disconnect();
  await pool?.end();
  await sendgrid?.close();
});

/** The dedupe key a post to the fake SendGrid was for. */
function dedupeKeyOf(post: FakeSendGridRequest): string {
  return SendGridMail.parse(post.body).custom_args?.dedupeKey ?? '';
}

describe('a crash in the middle of a burst', () => {
  it('after SIGKILL and a restart, marks doubtful exactly the sends cut off mid-call, sends every other one, and none twice', async () => {
    // Slow answers keep several provider calls open at any moment, so the kill lands on some.
    sendgrid.respondAfter(500);
    const first = await startMessaging();
    const requests = Array.from({ length: 60 }, (_, i) => ({ ...thankYouRequest(`crash-${i}`), customerId: `cust-crash-${i % 20}` }));
    await publish(producer, infra.prefix, 'messagesRequested', requests);
    // The fake answers on this process's event loop, so the calls seen unanswered here are still
    // unanswered when the kill lands right after: no timer runs between this check and the kill.
    const unansweredAtKill = await eventually(() => {
      expect(sendgrid.requests.length).toBeGreaterThanOrEqual(15);
      const open = new Set(sendgrid.requests.filter((r) => r.status === 0).map(dedupeKeyOf));
      expect(open.size).toBeGreaterThan(0);
      return open;
    }, 60_000, 20);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    expect(sendgrid.requests.length).toBeLessThan(requests.length);

    await startMessaging();
    const keys = requests.map((r) => r.payload.dedupeKey);
    const rows = await eventually(async () => {
      const found = await db.select().from(sends).where(inArray(sends.dedupeKey, keys));
      expect(found.filter((r) => isFinal(r.status))).toHaveLength(keys.length);
      return found;
    }, 120_000, 250);

    const accepted = new Map<string, number>();
    for (const post of sendgrid.accepted()) accepted.set(dedupeKeyOf(post), (accepted.get(dedupeKeyOf(post)) ?? 0) + 1);
    expect([...accepted.values()].every((n) => n === 1)).toBe(true);
    const doubtful = rows.filter((r) => r.status === 'doubtful').map((r) => r.dedupeKey);
    // The doubtful path ran: every call the kill cut off mid-answer is doubtful and not sent again.
    for (const key of unansweredAtKill) expect(doubtful).toContain(key);
    // Only calls in flight can be doubtful; everything else, including what the dead process
    // had claimed but not yet sent, went out once.
    expect(doubtful.length).toBeLessThanOrEqual(SEND_CONCURRENCY);
    for (const row of rows) {
      expect(['sent', 'doubtful']).toContain(row.status);
      if (row.status === 'sent') expect(accepted.get(row.dedupeKey)).toBe(1);
    }
    await stopChildren();
  }, 240_000);
});

describe('stopping while a send waits out a rate limit', () => {
  it('stops at once, leaves the message unsent with its key free to take over, and the next run sends it once', async () => {
    sendgrid.reset();
    const config = loadConfig({ ...serviceEnv(infra), PORT: '0', SENDGRID_API_KEY: 'SG.test-key', SENDGRID_BASE_URL: sendgrid.url, SENDGRID_RETRY_MAX_MS: '20000' });
    const runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
    try {
      const first = await startMessagingInProcess({ runtime, config });
      const req = thankYouRequest('stop-while-waiting');
      sendgrid.rateLimitNext(1, 15);
      await publish(producer, infra.prefix, 'messagesRequested', [req]);
      await eventually(() => expect(sendgrid.requests.map((r) => r.status)).toEqual([429]), 60_000);
      const stopStarted = Date.now();
      await first.stop();
      expect(Date.now() - stopStarted).toBeLessThan(5_000);
      expect(await db.select().from(sends).where(inArray(sends.dedupeKey, [req.payload.dedupeKey]))).toMatchObject([{ status: 'claimed' }]);

      const second = await startMessagingInProcess({ runtime, config });
      await eventually(() => expect(sendgrid.requests.map((r) => r.status)).toEqual([429, 202]), 90_000, 100);
      await eventually(async () => expect(await db.select().from(sends).where(inArray(sends.dedupeKey, [req.payload.dedupeKey]))).toMatchObject([{ status: 'sent' }]));
      await second.stop();
    } finally {
      await runtime.close();
    }
  }, 180_000);
});
