import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivacyCompleted, PrivacyRequested, type PrivacyService } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, trackedEvent, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { addressHash, keptTables, privacyTables } from '../src/privacy.ts';
import type { PrivacyRequestView } from '../src/privacy-coordinator.ts';
import { startMessaging, type Messaging } from '../src/service.ts';
import { sendRow, thankYouRequest } from './message-requests.ts';

/**
 * Messaging coordinates privacy requests and holds its own part: on the real broker and database,
 * the admin endpoint records and publishes a request, messaging's privacy consumer erases or
 * exports what it holds, the confirmations of every service complete the request, and marketing
 * to an erased address is suppressed until the customer subscribes again.
 */

const TOKEN = 'privacy-test-service-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const CUSTOMER = 'cust-pm1';
const EMAIL = 'ada.pm1@example.com';

let infra: TestInfra;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let requests: Awaited<ReturnType<typeof collectTopic>>;
const started = Date.now();

async function ask(kind: 'erase' | 'export'): Promise<string> {
  const res = await service.app.inject({ method: 'POST', url: '/admin/privacy/requests', headers: auth, payload: { customerId: CUSTOMER, kind, requestedBy: 'privacy-test' } });
  expect(res.statusCode).toBe(202);
  const body = res.json<{ requestId: string; status: string }>();
  expect(body.status).toBe('pending');
  return body.requestId;
}

async function view(requestId: string): Promise<PrivacyRequestView> {
  const res = await service.app.inject({ url: `/admin/privacy/requests/${requestId}`, headers: auth });
  expect(res.statusCode).toBe(200);
  return res.json<PrivacyRequestView>();
}

/** Another service's confirmation, as it would publish it. */
function confirmation(requestId: string, service: PrivacyService, kind: 'erase' | 'export'): PrivacyCompleted {
  return {
    id: `${requestId}:${service}`,
    type: 'privacy.completed',
    version: 1,
    occurredAt: new Date().toISOString(),
    customerId: CUSTOMER,
    causationId: `privacy:${requestId}`,
    payload: { requestId, kind, service, summary: { [`${service}.rows`]: 1 }, kept: [], ...(kind === 'export' ? { data: { rows: [{ email: EMAIL }] } } : {}) },
  };
}

/** Rows of the messaging schema whose text or JSON mentions the address, per table and column. */
async function mentions(needle: string): Promise<string[]> {
  const { rows: columns } = await runtime.pool.query<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'messaging' AND data_type IN ('text', 'character varying', 'jsonb', 'json')",
  );
  const found: string[] = [];
  for (const c of columns) {
    const { rows } = await runtime.pool.query(`SELECT 1 FROM messaging."${c.table_name}" WHERE "${c.column_name}"::text ILIKE $1`, [`%${needle}%`]);
    if (rows.length > 0) found.push(`${c.table_name}.${c.column_name}`);
  }
  return found;
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0', SERVICE_TOKEN: TOKEN, UNSUBSCRIBE_SECRET: 'privacy-test-unsubscribe-secret-0123456789', OUTBOX_DIR: await mkdtemp(join(tmpdir(), 'lifecycle-privacy-outbox-')) });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50 });
  producer = await connectedProducer(infra);
  requests = await collectTopic(infra, 'privacyRequests');
}, 60_000);

afterAll(async () => {
  await requests?.stop();
  await producer?.disconnect();
  await Promise.all(service?.consumers.map((c) => c.stop()) ?? []);
  await service?.stop();
  await runtime?.close();
});

describe('privacy requests in messaging', () => {
  it('refuses a request without the service token, and one without a customer id', async () => {
    const without = await service.app.inject({ method: 'POST', url: '/admin/privacy/requests', payload: { customerId: CUSTOMER, kind: 'erase' } });
    expect(without.statusCode).toBe(401);
    const empty = await service.app.inject({ method: 'POST', url: '/admin/privacy/requests', headers: auth, payload: { customerId: ' ', kind: 'erase' } });
    expect(empty.statusCode).toBe(400);
    expect((await service.app.inject({ url: '/admin/privacy/requests/nope', headers: auth })).statusCode).toBe(404);
  });

  it('exports the customer’s consent, sends and addresses, and publishes the request on privacy.requests', async () => {
    await publish(producer, infra.prefix, 'lifecycleEvents', [trackedEvent({ id: 'pm-sub-1', customerId: CUSTOMER, event: 'Email Subscribed', properties: { email: EMAIL }, at: new Date(started - 86_400_000) })]);
    await publish(producer, infra.prefix, 'messagesRequested', [thankYouRequest('pm1')]);
    await eventually(async () => expect((await sendRow(runtime.db, 'post-purchase:cust-pm1:order-pm1'))?.status).toBe('sent'), 30_000);
    await eventually(async () => expect((await runtime.pool.query('SELECT state FROM messaging.consent WHERE customer_id = $1', [CUSTOMER])).rows).toEqual([{ state: 'subscribed' }]), 30_000);
    await runtime.pool.query("INSERT INTO messaging.coupons (code, pool, customer_id, campaign_id) VALUES ('PM-CODE-1', 'thanks', $1, 'post-purchase')", [CUSTOMER]);

    const requestId = await ask('export');
    await eventually(() => expect(requests.records.map((r) => PrivacyRequested.parse(JSON.parse(r.value))).filter((r) => r.payload.requestId === requestId)).toEqual([expect.objectContaining({ customerId: CUSTOMER, payload: { requestId, kind: 'export', requestedBy: 'privacy-test' } })]), 30_000);
    const exported = await eventually(async () => {
      const v = await view(requestId);
      expect(v.services.messaging).not.toBeNull();
      return v;
    }, 30_000);
    expect(exported).toMatchObject({ kind: 'export', customerId: CUSTOMER, status: 'pending', services: { ingestion: null, classifier: null, scheduler: null } });
    const data = exported.export?.messaging as Record<string, Record<string, unknown>[]>;
    expect(data.consent).toEqual([expect.objectContaining({ customer_id: CUSTOMER, email: EMAIL, state: 'subscribed' })]);
    expect(data.sends?.map((s) => s.dedupe_key)).toEqual(['post-purchase:cust-pm1:order-pm1']);
    expect(data.coupons?.map((c) => c.code)).toEqual(['PM-CODE-1']);
    expect(data.recipients?.map((r) => r.email)).toEqual([EMAIL]);
  });

  it('completes a request once all four services confirmed, each counted once', async () => {
    const requestId = await ask('export');
    await eventually(async () => expect((await view(requestId)).services.messaging).not.toBeNull(), 30_000);
    await publish(producer, infra.prefix, 'privacyResponses', [confirmation(requestId, 'ingestion', 'export'), confirmation(requestId, 'classifier', 'export')]);
    await eventually(async () => expect((await view(requestId)).services.classifier).not.toBeNull(), 30_000);
    expect((await view(requestId)).status).toBe('pending');
    const first = (await view(requestId)).services.ingestion;
    // A redelivered confirmation changes nothing; the last service completes the request.
    await publish(producer, infra.prefix, 'privacyResponses', [{ ...confirmation(requestId, 'ingestion', 'export'), payload: { ...confirmation(requestId, 'ingestion', 'export').payload, summary: { 'ingestion.rows': 9 } } }, confirmation(requestId, 'scheduler', 'export')]);
    const done = await eventually(async () => {
      const v = await view(requestId);
      expect(v.status).toBe('complete');
      return v;
    }, 30_000);
    expect(done.services.ingestion).toEqual(first);
    expect(done.services.scheduler).toMatchObject({ summary: { 'scheduler.rows': 1 }, kept: [] });
    expect(Object.keys(done.export ?? {}).sort()).toEqual(['classifier', 'ingestion', 'messaging', 'scheduler']);
  });

  it('erases everything naming the customer or their address, empties earlier exports, and keeps only the address’s hash', async () => {
    const requestId = await ask('erase');
    const erased = await eventually(async () => {
      const v = await view(requestId);
      expect(v.services.messaging).not.toBeNull();
      return v;
    }, 30_000);
    expect(erased.services.messaging?.summary).toMatchObject({ 'messaging.consent': 1, 'messaging.recipients': 1, 'messaging.sends': 1, 'messaging.coupons': 1, 'messaging.privacy_requests': 2 });
    expect(erased.services.messaging?.kept).toEqual(expect.arrayContaining([expect.stringContaining('erased_addresses')]));
    expect(erased.export).toBeUndefined();
    expect(await mentions('ada.pm1')).toEqual([]);
    expect(await mentions('Ada Lovelace')).toEqual([]);
    expect((await runtime.pool.query('SELECT email_hash FROM messaging.erased_addresses')).rows).toEqual([{ email_hash: addressHash(EMAIL) }]);
    const { rows: exports } = await runtime.pool.query("SELECT exported FROM messaging.privacy_requests WHERE kind = 'export'");
    expect(exports).toEqual([{ exported: null }, { exported: null }]);
    // The send row stays, so a redelivered request is not sent again; it no longer says to whom.
    expect(await sendRow(runtime.db, 'post-purchase:cust-pm1:order-pm1')).toMatchObject({ status: 'sent', request: null });
  });

  it('suppresses marketing to the erased address as erased, until the customer subscribes again after the erase', async () => {
    const marketing = (n: string) => thankYouRequest('pm1', { category: 'marketing', campaignId: 'win-back', dedupeKey: `win-back:${CUSTOMER}:${n}` });
    await publish(producer, infra.prefix, 'messagesRequested', [marketing('1')]);
    await eventually(async () => expect(await sendRow(runtime.db, `win-back:${CUSTOMER}:1`)).toMatchObject({ status: 'suppressed', error: 'recipient suppressed: erased' }), 30_000);
    // Suppressed before any link was made: the erased address got no link id (a row naming it) back.
    expect((await runtime.pool.query('SELECT count(*)::int AS n FROM messaging.address_ids WHERE lower(email) = lower($1)', [EMAIL])).rows[0].n).toBe(0);
    // A transactional message still goes: the customer ordered again after the erase.
    await publish(producer, infra.prefix, 'messagesRequested', [thankYouRequest('pm1', { dedupeKey: `post-purchase:${CUSTOMER}:order-pm2` })]);
    await eventually(async () => expect((await sendRow(runtime.db, `post-purchase:${CUSTOMER}:order-pm2`))?.status).toBe('sent'), 30_000);

    await publish(producer, infra.prefix, 'lifecycleEvents', [trackedEvent({ id: 'pm-sub-2', customerId: CUSTOMER, event: 'Email Subscribed', properties: { email: EMAIL }, at: new Date(Date.now() + 60_000) })]);
    await eventually(async () => expect((await runtime.pool.query('SELECT state FROM messaging.consent WHERE customer_id = $1', [CUSTOMER])).rows).toEqual([{ state: 'subscribed' }]), 30_000);
    await publish(producer, infra.prefix, 'messagesRequested', [marketing('2')]);
    await eventually(async () => expect((await sendRow(runtime.db, `win-back:${CUSTOMER}:2`))?.status).toBe('sent'), 30_000);
  });

  it('decides for every table of its schema: erased, or kept for a stated reason', async () => {
    const { rows } = await runtime.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'messaging' ORDER BY 1");
    const decided = [...privacyTables('').map((t) => t.table), ...Object.keys(keptTables)].sort();
    expect(rows.map((r) => r.table_name)).toEqual(decided);
  });
});
