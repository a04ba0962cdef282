import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentChanged } from '@lifecycle/contracts';
import { createPool, openRuntime, publish, type Pool, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig, type MessagingConfig } from '../src/config.ts';
import { liftConsent } from '../src/consent-lift.ts';
import { consent, consentOutbox, sends } from '../src/db/schema.ts';
import { sendRow, statusEvents, thankYouRequest } from './message-requests.ts';

/**
 * Every record messaging makes goes through its one transactional outbox: written in the
 * transaction of the state change behind it, published by the relay after that commits. On the
 * real broker and database: a record is on its topic only once its transaction has committed, a
 * rolled-back one publishes nothing, what a process committed but did not publish before it died
 * goes out from the next start, and so does what messaging left unpublished before the outbox.
 *
 * To catch a transaction between writing its record and committing, a trigger on the outbox
 * (installed by this test) makes an insert whose record contains a chosen text wait for an
 * advisory lock the test holds, or fail.
 */

let infra: TestInfra;
let outboxDir: string;
let config: MessagingConfig;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
const connectionOf = (pool: Pool) => pool.connect();
let holderPool: Pool;
/** The test's own connection: holds the advisory locks that keep a transaction from committing. */
let holder: Awaited<ReturnType<typeof connectionOf>>;
let statuses: Awaited<ReturnType<typeof collectTopic>>;
let consentChanges: Awaited<ReturnType<typeof collectTopic>>;

beforeAll(async () => {
  infra = await createTestInfra();
  outboxDir = await mkdtemp(join(tmpdir(), 'lifecycle-records-'));
  config = loadConfig({ ...serviceEnv(infra), PORT: '0', OUTBOX_DIR: outboxDir });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  await runtime.pool.query(`
    CREATE TABLE messaging.test_holds (text text PRIMARY KEY, action text NOT NULL);
    CREATE FUNCTION messaging.test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE hold record;
    BEGIN
      FOR hold IN SELECT * FROM messaging.test_holds WHERE strpos(NEW.value, text) > 0 LOOP
        IF hold.action = 'fail' THEN RAISE EXCEPTION 'the test fails the transaction that wrote %', hold.text; END IF;
        PERFORM pg_advisory_xact_lock(hashtext(hold.text));
      END LOOP;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_hold AFTER INSERT ON messaging.outbox FOR EACH ROW EXECUTE FUNCTION messaging.test_hold();`);
  holderPool = createPool(infra.databaseUrl, 1);
  holder = await connectionOf(holderPool);
  producer = await connectedProducer(infra);
  statuses = await collectTopic(infra, 'messageEvents');
  consentChanges = await collectTopic(infra, 'consentChanges');
});

afterAll(async () => {
  await Promise.all([statuses?.stop(), consentChanges?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  holder?.release();
  await holderPool?.end();
  await rm(outboxDir, { recursive: true, force: true });
});

function consentIds(customerId: string): string[] {
  return consentChanges.records.filter((r) => r.key === customerId).map((r) => ConsentChanged.parse(JSON.parse(r.value)).id);
}

function statusesOf(dedupeKey: string): string[] {
  return statusEvents(statuses.records, dedupeKey).map((e) => e.payload.status);
}

async function outboxRows(): Promise<number> {
  const { rows } = await runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM messaging.outbox');
  return rows[0]?.n ?? -1;
}

/** From now on, a transaction that writes a record containing `text` waits before it can commit, until `release`. */
async function holdCommitsOf(text: string): Promise<{ waiting: () => Promise<void>; release: () => Promise<void> }> {
  await holder.query('SELECT pg_advisory_lock(hashtext($1))', [text]);
  await runtime.pool.query("INSERT INTO messaging.test_holds (text, action) VALUES ($1, 'hold')", [text]);
  return {
    // A transaction of the service waits on the lock: it wrote its record and has not committed.
    waiting: () =>
      eventually(async () => {
        const { rows } = await holder.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'");
        expect(rows[0]?.n).toBe(1);
      }, 30_000),
    release: async () => {
      await holder.query('DELETE FROM messaging.test_holds WHERE text = $1', [text]);
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [text]);
    },
  };
}

describe('messaging’s records', () => {
  it('left unpublished before the outbox (consent changes, unreported outcomes) are published by the first start, and what did go out is not published again', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const change = (customerId: string, sequence: number): ConsentChanged => ({
      id: `consent:${customerId}:${sequence}`,
      type: 'consent.changed',
      version: 1,
      occurredAt: at.toISOString(),
      customerId,
      causationId: `legacy-cause-${sequence}`,
      payload: { state: sequence % 2 === 1 ? 'unsubscribed' : 'subscribed', marketingAllowed: sequence % 2 === 0, consentAt: at.toISOString(), source: 'unsubscribe-link', sequence, previousState: sequence === 1 ? null : 'unsubscribed' },
    });
    // What the old code left: two changes it never published, one it did.
    await runtime.db.insert(consentOutbox).values([
      { id: 'consent:cust-legacy:1', customerId: 'cust-legacy', record: change('cust-legacy', 1), createdAt: at, publishedAt: at },
      { id: 'consent:cust-legacy:2', customerId: 'cust-legacy', record: change('cust-legacy', 2), createdAt: new Date(at.getTime() + 1_000), publishedAt: null },
      { id: 'consent:cust-legacy:3', customerId: 'cust-legacy', record: change('cust-legacy', 3), createdAt: new Date(at.getTime() + 2_000), publishedAt: null },
    ]);
    // A sent message whose status was never published (Kafka failed after the outcome was written), and one whose status was.
    const unreported = thankYouRequest('legacy-unreported');
    const reported = thankYouRequest('legacy-reported');
    const row = (req: typeof unreported, reportedAt: Date | null) => ({
      dedupeKey: req.payload.dedupeKey,
      status: 'sent' as const,
      messageId: req.id,
      customerId: req.customerId,
      campaignId: req.payload.campaignId,
      templateId: req.payload.templateId,
      providerMessageId: `eml-${req.id}`,
      claimToken: `token-${req.id}`,
      claimedAt: at,
      updatedAt: at,
      reportedAt,
    });
    await runtime.db.insert(sends).values([row(unreported, null), row(reported, at)]);

    service = await startMessaging({ runtime, config });

    await eventually(() => expect(consentIds('cust-legacy')).toEqual(['consent:cust-legacy:2', 'consent:cust-legacy:3']), 30_000);
    await eventually(() => expect(statusesOf(unreported.payload.dedupeKey)).toEqual(['sent']), 30_000);
    const published = statusEvents(statuses.records, unreported.payload.dedupeKey)[0];
    expect(published).toMatchObject({ id: `message-status:${unreported.payload.dedupeKey}:sent`, customerId: unreported.customerId, causationId: unreported.id, payload: { providerMessageId: `eml-${unreported.id}` } });
    await service.outbox.drained();
    // Moved, not copied: nothing left to move at the next start.
    expect(await runtime.db.select().from(consentOutbox)).toEqual([]);
    expect((await sendRow(runtime.db, unreported.payload.dedupeKey))?.reportedAt).not.toBeNull();
    expect(statusesOf(reported.payload.dedupeKey)).toEqual([]);
    expect(consentIds('cust-legacy')).toEqual(['consent:cust-legacy:2', 'consent:cust-legacy:3']);
  });

  it('committed by a process that died before its relay published them are published by the next start', async () => {
    // The relay stops first, as if the process died right after its transactions committed.
    await service.outbox.stop();
    const req = thankYouRequest('crash-before-publish');
    await publish(producer, infra.prefix, 'messagesRequested', [req]);
    await eventually(async () => expect(await sendRow(runtime.db, req.payload.dedupeKey)).toMatchObject({ status: 'sent' }), 30_000);
    await service.consent.record({ customerId: 'cust-crash', email: 'cust-crash@example.com' }, { kind: 'unsubscribe', at: new Date(), source: 'unsubscribe-link' }, 'crash-cause');
    expect(await outboxRows()).toBe(2);
    await service.stop();
    expect(statusesOf(req.payload.dedupeKey)).toEqual([]);
    expect(consentIds('cust-crash')).toEqual([]);

    service = await startMessaging({ runtime, config });
    await eventually(() => {
      expect(statusesOf(req.payload.dedupeKey)).toEqual(['sent']);
      expect(consentIds('cust-crash')).toEqual(['consent:cust-crash:1']);
    }, 30_000);
    await service.outbox.drained();
    expect(await outboxRows()).toBe(0);
  });

  it('a send’s status is on messages.events only once its outcome has committed', async () => {
    const req = thankYouRequest('held-outcome');
    const key = req.payload.dedupeKey;
    const hold = await holdCommitsOf(`message-status:${key}:`);
    await publish(producer, infra.prefix, 'messagesRequested', [req]);
    await hold.waiting();
    // The outcome and its status are written, not committed: the relay looks and finds nothing to publish.
    await service.outbox.drained();
    expect(await sendRow(runtime.db, key)).toMatchObject({ status: 'sending', reportedAt: null });
    expect(statusesOf(key)).toEqual([]);

    await hold.release();
    await eventually(() => expect(statusesOf(key)).toEqual(['sent']), 30_000);
    expect(await sendRow(runtime.db, key)).toMatchObject({ status: 'sent', reportedAt: expect.any(Date) });
  });

  it('a consent change is on consent.changes only once its decision has committed', async () => {
    const hold = await holdCommitsOf('consent:cust-held:');
    const recorded = service.consent.record({ customerId: 'cust-held', email: 'cust-held@example.com' }, { kind: 'unsubscribe', at: new Date(), source: 'unsubscribe-link' }, 'held-cause');
    await hold.waiting();
    await service.outbox.drained();
    expect(await runtime.db.select().from(consent).where(eq(consent.customerId, 'cust-held'))).toEqual([]);
    expect(consentIds('cust-held')).toEqual([]);

    await hold.release();
    expect(await recorded).toMatchObject({ outcome: 'changed' });
    await eventually(() => expect(consentIds('cust-held')).toEqual(['consent:cust-held:1']), 30_000);
  });

  it('a consent decision that rolls back after writing its record publishes nothing', async () => {
    await runtime.pool.query("INSERT INTO messaging.test_holds (text, action) VALUES ('consent:cust-rolled-back:', 'fail')");
    await expect(
      service.consent.record({ customerId: 'cust-rolled-back', email: 'cust-rolled-back@example.com' }, { kind: 'bounce', at: new Date(), source: 'sendgrid-webhook' }, 'rolled-back-cause'),
    ).rejects.toThrow();
    expect(await runtime.db.select().from(consent).where(eq(consent.customerId, 'cust-rolled-back'))).toEqual([]);
    // A later change commits: once it is out, the relay has looked past the one that rolled back.
    await service.consent.record({ customerId: 'cust-after-rollback', email: null }, { kind: 'unsubscribe', at: new Date(), source: 'unsubscribe-link' }, 'after-cause');
    await eventually(() => expect(consentIds('cust-after-rollback')).toEqual(['consent:cust-after-rollback:1']), 30_000);
    await service.outbox.drained();
    expect(consentIds('cust-rolled-back')).toEqual([]);
    expect(await outboxRows()).toBe(0);
  });

  it('consent:lift returns once its change is on consent.changes, published by its own relay when no service relays', async () => {
    await service.consent.record({ customerId: 'cust-lift', email: 'cust-lift@example.com' }, { kind: 'bounce', at: new Date(), source: 'sendgrid-webhook' }, 'bounce-cause');
    await eventually(() => expect(consentIds('cust-lift')).toEqual(['consent:cust-lift:1']), 30_000);
    await service.outbox.stop();

    const lifted = await liftConsent({ env: serviceEnv(infra), target: 'cust-lift' });
    expect(lifted.customers).toEqual([expect.objectContaining({ customerId: 'cust-lift', lifted: true })]);
    // Returned only once the relay had published it and deleted its row.
    expect(await outboxRows()).toBe(0);
    await eventually(() => expect(consentIds('cust-lift')).toEqual(['consent:cust-lift:1', 'consent:cust-lift:2']), 30_000);
  });
});
