import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetter, LifecycleEvent, topicName } from '@lifecycle/contracts';
import { openRuntime, type Producer, type Runtime } from '@lifecycle/kit';
import { startTcpProxy, type TcpProxy } from '@lifecycle/tools/tcp-proxy';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { hashWriteKey } from '../src/domain/write-keys.ts';
import { startIngestion, type Ingestion } from '../src/service.ts';

const WRITE_KEY = 'wk-outage';
const auth = { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` };

let infra: TestInfra;
let proxy: TcpProxy;
let runtime: Runtime;
let service: Ingestion;
let producer: Producer;
let clean: Awaited<ReturnType<typeof collectTopic>>;
let dead: Awaited<ReturnType<typeof collectTopic>>;

function order(messageId: string, userId: string): Record<string, unknown> {
  return {
    type: 'track',
    messageId,
    timestamp: new Date().toISOString(),
    userId,
    event: 'Order Completed',
    properties: { order_id: `order-${messageId}`, total: 30, currency: 'usd' },
  };
}

function published(): LifecycleEvent[] {
  return clean.records.map((r) => LifecycleEvent.parse(JSON.parse(r.value)));
}

function countById(events: LifecycleEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  infra = await createTestInfra();
  const database = new URL(infra.databaseUrl);
  proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
  database.port = String(proxy.port);
  const config = loadConfig({ ...serviceEnv(infra), DATABASE_URL: database.toString(), PORT: '0', LOG_LEVEL: 'silent', INGESTION_WRITE_KEY_HASHES: hashWriteKey(WRITE_KEY) });
  runtime = await openRuntime({ service: 'ingestion', config, schema: 'ingestion', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startIngestion(runtime, config);
  producer = await connectedProducer(infra);
  clean = await collectTopic(infra, 'lifecycleEvents');
  dead = await collectTopic(infra, 'commerceEvents', { deadLetter: true });
});

afterAll(async () => {
  // A test that failed during an outage leaves the proxy cut; the service needs its database to stop cleanly.
  await proxy?.restore();
  await Promise.all([clean?.stop(), dead?.stop(), producer?.disconnect()]);
  await service?.stop();
  await runtime?.close();
  await proxy?.cut();
});

describe('ingestion while its database is unreachable', () => {
  it('acknowledges calls over HTTP while the database is down, dead-letters none, and publishes each call of the outage exactly once when it is back', async () => {
    // Through the proxy, before the outage.
    expect((await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: order('warm-1', 'cust-w') })).statusCode).toBe(200);
    await eventually(() => expect(published().map((e) => e.id)).toContain('warm-1'));

    // Events flow all along: one HTTP call and one Kafka record every 25 ms, each remembered with the phase it was sent in.
    type Phase = 'before' | 'outage' | 'after';
    const state: { phase: Phase } = { phase: 'before' };
    const sent: { id: string; phase: Phase; via: 'http' | 'kafka'; status?: number }[] = [];
    let flowing = true;
    const flow = (async () => {
      for (let i = 0; flowing; i++) {
        const customer = `cust-${i % 7}`;
        const viaHttp = { id: `h-${i}`, phase: state.phase, via: 'http' as const };
        const response = await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: order(viaHttp.id, customer) });
        sent.push({ ...viaHttp, status: response.statusCode });
        const viaKafka = { id: `k-${i}`, phase: state.phase, via: 'kafka' as const };
        await producer.send({ topic: topicName(infra.prefix, 'commerceEvents'), messages: [{ key: customer, value: JSON.stringify(order(viaKafka.id, customer)) }] });
        sent.push(viaKafka);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    await new Promise((r) => setTimeout(r, 500));
    await proxy.cut();
    state.phase = 'outage';
    // The operator's view: still ready (the HTTP API needs only Kafka), the database check failing.
    const readiness = await service.app.inject({ url: '/readyz' });
    expect(readiness.statusCode).toBe(200);
    expect(readiness.json()).toMatchObject({ status: 'ready', checks: { consumers: true, database: false } });
    // Long enough for the consumer to exhaust its retries and pause the partitions at least once.
    await new Promise((r) => setTimeout(r, 8_000));
    const duringOutage = sent.filter((s) => s.phase === 'outage');
    expect(duringOutage.length).toBeGreaterThan(20);
    // A call is accepted once it is on commerce.events (README, Ingestion HTTP API); the database is not needed for that.
    const answers = duringOutage.filter((s) => s.via === 'http').map((s) => s.status);
    expect(answers.length).toBeGreaterThan(10);
    expect(new Set(answers)).toEqual(new Set([200]));
    const outageIds = new Set(duringOutage.map((s) => s.id));
    // Nothing can be deduplicated, so nothing sent in the outage is published yet, and nothing is dead-lettered.
    expect(published().filter((e) => outageIds.has(e.id))).toEqual([]);
    expect(dead.records).toEqual([]);

    await proxy.restore();
    state.phase = 'after';
    await new Promise((r) => setTimeout(r, 500));
    flowing = false;
    await flow;

    const counts = await eventually(() => {
      const found = countById(published());
      expect(sent.filter((s) => !found.has(s.id)).map((s) => s.id)).toEqual([]);
      return found;
    }, 60_000);
    // Sent during the outage or after it: exactly once. A record in flight when the connection
    // dropped may be published twice (its publish preceded the lost COMMIT); downstream drops it by id.
    expect(sent.filter((s) => s.phase !== 'before' && counts.get(s.id) !== 1).map((s) => s.id)).toEqual([]);
    expect(dead.records).toEqual([]);
    await eventually(async () => expect((await service.app.inject({ url: '/readyz' })).statusCode).toBe(200));
  });

  it('survives losing its connection in the middle of a transaction, and publishes the event once the database is back', async () => {
    const uncaught: unknown[] = [];
    const record = (err: unknown): void => {
      uncaught.push(err);
    };
    process.on('uncaughtException', record);
    try {
      // The statement that records the messageId succeeds; the connection is lost before the COMMIT.
      const lost = proxy.cutAfterReplyTo('insert into "ingestion"."seen_messages"');
      expect((await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: order('tx-1', 'cust-x') })).statusCode).toBe(200);
      await lost;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(uncaught).toEqual([]);
      expect(dead.records).toEqual([]);
      await proxy.restore();
      // The event was published before the COMMIT was lost, so the redelivery publishes it again:
      // at least once, and downstream services drop the repeat by its id.
      await eventually(() => expect(published().map((e) => e.id)).toContain('tx-1'), 30_000);
      expect((await service.app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: order('tx-2', 'cust-x') })).statusCode).toBe(200);
      await eventually(() => expect(published().filter((e) => e.id === 'tx-2')).toHaveLength(1), 30_000);
      expect(dead.records).toEqual([]);
      expect(uncaught).toEqual([]);
    } finally {
      process.removeListener('uncaughtException', record);
    }
  });

  it('dead-letters only the poison record when the database goes down while a failed chunk is retried record by record', async () => {
    // A rule only the database knows (a trigger here) makes the chunk fail; it is retried record
    // by record once the database answers the reachability check, and the proxy cuts right after that answer.
    await runtime.pool.query(`
      CREATE FUNCTION ingestion.refuse_pz2() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.message_id = 'pz-2' THEN RAISE EXCEPTION 'pz-2 refused by test trigger'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_pz2 BEFORE INSERT ON ingestion.seen_messages FOR EACH ROW EXECUTE FUNCTION ingestion.refuse_pz2();`);
    try {
      const lost = proxy.cutAfterReplyTo('SELECT 1');
      await producer.send({
        topic: topicName(infra.prefix, 'commerceEvents'),
        messages: ['pz-1', 'pz-2', 'pz-3'].map((id) => ({ key: 'cust-z', value: JSON.stringify(order(id, 'cust-z')) })),
      });
      await lost;
      // Enough for each record's own retries to fail against the unreachable database.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(dead.records.filter((r) => r.key === 'cust-z')).toEqual([]);
      await proxy.restore();
      await eventually(() => expect(published().filter((e) => e.customerId === 'cust-z').map((e) => e.id)).toEqual(['pz-1', 'pz-3']), 30_000);
      const letters = await eventually(() => {
        const found = dead.records.filter((r) => r.key === 'cust-z').map((r) => DeadLetter.parse(JSON.parse(r.value)));
        expect(found).toHaveLength(1);
        return found;
      }, 30_000);
      expect(letters[0]?.reason).toBe('processing failed after 3 attempts');
      expect(Buffer.from(letters[0]?.value ?? '', 'base64').toString()).toContain('"pz-2"');
    } finally {
      await proxy.restore();
      await runtime.pool.query('DROP TRIGGER refuse_pz2 ON ingestion.seen_messages; DROP FUNCTION ingestion.refuse_pz2()');
    }
    // Every connection went back to the pool: one kept by a failed transaction would shrink the pool for good and hang the shutdown.
    await eventually(() => expect(runtime.pool.totalCount).toBe(runtime.pool.idleCount));
  });
});
