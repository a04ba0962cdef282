/**
 * `pnpm bench:ingestion [N]`: replays N generated Segment events (default 200,000) through the
 * ingestion service from `commerce.events`, then over HTTP `/v1/batch`, and measures the broker
 * alone on the same records as the ceiling. Prints events per second, p50/p99 latency to
 * `lifecycle.events` (or, for the broker alone, to the consumer), and peak memory (RSS of this
 * process, which runs the service, the load generator and the collector). Not a test.
 *
 * Uses KAFKA_BROKERS / DATABASE_URL (defaults: the local broker and server); works in its own
 * topic prefix and database, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { topicName } from '@lifecycle/contracts';
import { createKafka, createLogger, createPool, createProducer, ensureTopics, openRuntime, type Kafka } from '@lifecycle/kit';
import { loadConfig } from '../src/config.ts';
import { hashWriteKey } from '../src/domain/write-keys.ts';
import { startIngestion } from '../src/service.ts';

const N = Number(process.argv[2] ?? process.env.BENCH_EVENTS ?? 200_000);
const CUSTOMERS = 5_000;
const WRITE_KEY = 'bench-write-key';
const runId = `bench${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = (() => {
  const url = new URL(serverUrl);
  url.pathname = `/lifecycle_${runId}`;
  return url.toString();
})();
const logger = createLogger('bench', process.env.LOG_LEVEL ?? 'warn');

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

function event(i: number, prefix: string): Record<string, unknown> {
  const userId = `cust-${i % CUSTOMERS}`;
  const kind = i % 10;
  const common = { messageId: `${prefix}-${i}`, timestamp: new Date().toISOString(), userId, context: { traits: { email: `${userId}@example.com` } } };
  if (kind === 0) return { ...common, type: 'track', event: 'Order Completed', properties: { order_id: `o-${i}`, total: 42.5, currency: 'EUR', products: [{ name: 'Mug', price: 21.25, quantity: 2 }] } };
  if (kind === 1) return { ...common, type: 'identify', traits: { email: `${userId}@example.com`, timezone: 'Europe/Paris', locale: 'fr-FR' } };
  if (kind < 5) return { ...common, type: 'page', name: 'Product', properties: { url: `https://shop.example/p/${i % 300}` } };
  return { ...common, type: 'track', event: 'Product Viewed', properties: { product_id: `p-${i % 300}`, price: 19.99, currency: 'USD' } };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Result {
  name: string;
  seconds: number;
  /** CPU time of this process (user + system) during the run: the service, the load and the collector. */
  cpuSeconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** Waits until `count` records arrive on a topic; latency is arrival minus the send time stamped in the `sent` header. */
async function collect(kafka: Kafka, topic: string, count: number, sentAt: Map<string, number> | null): Promise<{ done: Promise<{ last: number; latencies: number[] }>; stop: () => Promise<void> }> {
  const consumer = kafka.consumer({ groupId: `${runId}-collector-${randomBytes(3).toString('hex')}`, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const latencies: number[] = [];
  let finish: (v: { last: number; latencies: number[] }) => void = () => undefined;
  const done = new Promise<{ last: number; latencies: number[] }>((resolve) => {
    finish = resolve;
  });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const message of batch.messages) {
        let sent: number | undefined;
        if (sentAt === null) sent = Number(message.headers?.sent?.toString());
        else {
          const id = /"id":"([^"]+)"/.exec(message.value?.toString() ?? '')?.[1];
          sent = id === undefined ? undefined : sentAt.get(id);
        }
        if (sent !== undefined && !Number.isNaN(sent)) latencies.push(now - sent);
      }
      if (latencies.length >= count) finish({ last: now, latencies });
    },
  });
  return { done, stop: () => consumer.disconnect() };
}

/** Where a run starts: the wall clock and this process's CPU time. */
function mark(): { start: number; cpu: NodeJS.CpuUsage } {
  return { start: performance.now(), cpu: process.cpuUsage() };
}

function summarize(name: string, from: { start: number; cpu: NodeJS.CpuUsage }, outcome: { last: number; latencies: number[] }): Result {
  const seconds = (outcome.last - from.start) / 1000;
  const cpu = process.cpuUsage(from.cpu);
  const sorted = [...outcome.latencies].sort((a, b) => a - b);
  return { name, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, perSecond: N / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function produceAll(kafka: Kafka, topic: string, prefix: string, sentAt: Map<string, number> | null): Promise<void> {
  const producer = createProducer(kafka);
  await producer.connect();
  const chunk = 1_000;
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < N; start += chunk) {
    const now = performance.now();
    const messages = [];
    for (let i = start; i < Math.min(N, start + chunk); i++) {
      const value = event(i, prefix);
      sentAt?.set(`${prefix}-${i}`, now);
      messages.push({ key: String(value.userId), value: JSON.stringify(value), headers: { sent: String(now) } });
    }
    inFlight.push(producer.send({ topic, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
}

async function brokerAlone(kafka: Kafka, prefix: string): Promise<Result> {
  const topic = topicName(prefix, 'commerceEvents');
  const collector = await collect(kafka, topic, N, null);
  const from = mark();
  await produceAll(kafka, topic, 'broker', null);
  const result = summarize('broker alone (produce → consume)', from, await collector.done);
  await collector.stop();
  return result;
}

async function throughService(kafka: Kafka, prefix: string, via: 'kafka' | 'http'): Promise<Result> {
  const config = loadConfig({ KAFKA_BROKERS: brokers.join(','), DATABASE_URL: databaseUrl, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', PORT: '0', INGESTION_WRITE_KEY_HASHES: hashWriteKey(WRITE_KEY) });
  const runtime = await openRuntime({ service: 'ingestion', config, schema: 'ingestion', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger });
  const service = await startIngestion(runtime, config);
  const sentAt = new Map<string, number>();
  const collector = await collect(kafka, topicName(prefix, 'lifecycleEvents'), N, sentAt);
  const from = mark();
  if (via === 'kafka') {
    await produceAll(kafka, topicName(prefix, 'commerceEvents'), via, sentAt);
  } else {
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < N) {
        const from = next;
        next = Math.min(N, next + 500);
        const now = performance.now();
        const batch = [];
        for (let i = from; i < next; i++) {
          sentAt.set(`${via}-${i}`, now);
          batch.push(event(i, via));
        }
        const response = await fetch(`${address}/v1/batch`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }
  const result = summarize(via === 'kafka' ? 'service, from commerce.events' : 'service, over HTTP /v1/batch', from, await collector.done);
  await collector.stop();
  await service.stop();
  await runtime.close();
  return result;
}

async function dropDatabase(): Promise<void> {
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  const pool = createPool(url.toString(), 1);
  await pool.query(`DROP DATABASE IF EXISTS "lifecycle_${runId}" WITH (FORCE)`);
  await pool.end();
}

async function dropTopics(kafka: Kafka, prefixes: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const names = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
  await admin.deleteTopics({ topics: names });
  await admin.disconnect();
}

const kafka = createKafka({ clientId: runId, brokers, logger });
const prefixes = { broker: `${runId}_broker.`, kafka: `${runId}_kafka.`, http: `${runId}_http.` };
for (const prefix of Object.values(prefixes)) await ensureTopics(kafka, prefix);
try {
  console.log(`replaying ${N.toLocaleString('en')} events (${CUSTOMERS} customers; 10% orders, 10% identify, 30% page, 50% product views)`);
  const results: Result[] = [];
  results.push(await brokerAlone(kafka, prefixes.broker));
  peakRss = 0;
  results.push(await throughService(kafka, prefixes.kafka, 'kafka'));
  const kafkaPeak = peakRss;
  peakRss = 0;
  results.push(await throughService(kafka, prefixes.http, 'http'));
  const httpPeak = peakRss;
  const ceiling = results[0]?.perSecond ?? Number.NaN;
  const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;
  const peaks = ['', mb(kafkaPeak), mb(httpPeak)];
  console.log('\n| run | events/s | p50 ms | p99 ms | of broker ceiling | CPU µs per event | peak RSS |\n|---|---|---|---|---|---|---|');
  results.forEach((r, i) => {
    const cpuPerEvent = Math.round((r.cpuSeconds * 1e6) / N);
    console.log(`| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en')} | ${Math.round(r.p50)} | ${Math.round(r.p99)} | ${i === 0 ? '1.00' : (r.perSecond / ceiling).toFixed(2)} | ${cpuPerEvent} | ${peaks[i] ?? ''} |`);
  });
} finally {
  clearInterval(sampler);
  await dropTopics(kafka, Object.values(prefixes)).catch(() => undefined);
  await dropDatabase().catch(() => undefined);
}
process.exit(0);
