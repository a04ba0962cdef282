import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createProducer, openRuntime, publish } from '@lifecycle/kit';
import { declaredTopics, type MessageRequested } from '@lifecycle/contracts';
import { loadConfig, migrationsFolder, startMessaging } from '@lifecycle/messaging';
import { SendGridMail, startFakeSendGrid } from './fake-sendgrid.ts';
import { adminKafka, ensureKafka, ensureStackDatabase, ensureStackTopics } from './local-infra.ts';
import { readStackConfig } from './stack-config.ts';

/**
 * `pnpm bench:messaging [--messages N] [--concurrency C] [--rate R]`: the messaging service on
 * the real broker and database, sending through the fake SendGrid. Publishes N thank-you
 * requests for N/4 customers, all at once (a burst: throughput) or R per second (latency under
 * a steady load), and reports how many were rendered and handed to the API per second, and the
 * latency from publishing each `messages.requested` record to its API call.
 * Runs in a database and topic prefix of its own, removed afterwards.
 */

const say = (line: string): void => {
  process.stdout.write(`bench: ${line}\n`);
};

function request(i: number, runId: string): MessageRequested {
  const customerId = `bench-cust-${i % Math.max(1, Math.floor(count / 4))}`;
  return {
    id: `bench-req-${i}`,
    type: 'message.requested',
    version: 1,
    occurredAt: new Date().toISOString(),
    customerId,
    causationId: `bench-stage-${i}`,
    payload: {
      dedupeKey: `bench:${runId}:${i}`,
      campaignId: 'post-purchase-thank-you',
      templateId: 'post-purchase-thank-you',
      category: 'transactional',
      recipient: { email: `customer.${i}@example.com`, name: 'Ada Lovelace' },
      locale: i % 5 === 0 ? 'ja-JP' : 'en-US',
      timeZone: 'Europe/Berlin',
      data: {
        customer: { id: customerId, email: `customer.${i}@example.com`, firstName: 'Ada', name: 'Ada Lovelace' },
        order: {
          orderId: `B-${i}`,
          total: 66.95,
          currency: 'EUR',
          products: [
            { name: 'Ceramic Pour-Over Dripper', quantity: 1, price: 32, url: 'https://oakandember.example.com/p/dripper', imageUrl: 'https://oakandember.example.com/i/dripper.jpg' },
            { name: 'Single-Origin Beans, Ethiopia 250 g', quantity: 2, price: 14.5 },
            { name: 'Paper Filters (100)', quantity: 1, price: 5.95 },
          ],
        },
      },
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const { values } = parseArgs({ args: process.argv.slice(2), options: { messages: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' }, rate: { type: 'string' } }, strict: true });
const count = Number(values.messages);
const stack = readStackConfig(process.env);
const { brokers } = await ensureKafka(stack.brokersFromEnv, say);
const runId = `bench_${randomBytes(3).toString('hex')}`;
const prefix = `${runId}.`;
const databaseUrl = new URL(stack.databaseUrl);
databaseUrl.pathname = `/lifecycle_${runId}`;
await ensureStackDatabase(databaseUrl.toString());
await ensureStackTopics(brokers, prefix);
const sendgrid = await startFakeSendGrid();
const config = loadConfig({
  KAFKA_BROKERS: brokers.join(','),
  DATABASE_URL: databaseUrl.toString(),
  TOPIC_PREFIX: prefix,
  LOG_LEVEL: 'error',
  SENDGRID_API_KEY: 'SG.bench',
  SENDGRID_BASE_URL: sendgrid.url,
  SENDGRID_SENDS_PER_SECOND: '100000',
  SEND_CONCURRENCY: values.concurrency,
});
const runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder });
const service = await startMessaging({ runtime, config });
const producer = createProducer(adminKafka(brokers));
await producer.connect();
try {
  const joinedBy = Date.now() + 60_000;
  while (!service.consumers.every((c) => c.ready()) && Date.now() < joinedBy) await new Promise((r) => setTimeout(r, 100));
  say(`${count} messages ${values.rate === undefined ? 'in one burst' : `at ${values.rate}/s`}, concurrency ${values.concurrency}, broker ${brokers.join(',')}`);
  const publishedAt = new Map<string, number>();
  const started = Date.now();
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  const step = rate === undefined ? 500 : Math.max(1, Math.round(rate / 10));
  for (let i = 0; i < count; i += step) {
    const batch = Array.from({ length: Math.min(step, count - i) }, (_, k) => request(i + k, runId));
    const at = Date.now();
    await publish(producer, prefix, 'messagesRequested', batch);
    for (const r of batch) publishedAt.set(r.payload.dedupeKey, at);
    // Steady load: the next tenth of a second's worth when its time comes.
    if (rate !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, started + ((i + step) / rate) * 1000 - Date.now())));
  }
  const deadline = Date.now() + 10 * 60_000;
  while (sendgrid.accepted().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const accepted = sendgrid.accepted();
  if (accepted.length < count) throw new Error(`only ${accepted.length} of ${count} messages reached the fake SendGrid in 10 minutes`);
  const latencies = accepted
    .map((r) => {
      const key = SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey;
      const at = key === undefined ? undefined : publishedAt.get(key);
      return at === undefined ? Number.NaN : r.receivedAt - at;
    })
    .filter((n) => !Number.isNaN(n))
    .sort((a, b) => a - b);
  const seconds = (Math.max(...accepted.map((r) => r.receivedAt)) - started) / 1000;
  say(`${(count / seconds).toFixed(0)} messages/s rendered and handed to SendGrid (${count} in ${seconds.toFixed(2)} s)`);
  say(`latency messages.requested → API call: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms`);
} finally {
  await service.stop();
  await runtime.close();
  await producer.disconnect();
  await sendgrid.close();
  const admin = adminKafka(brokers).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: declaredTopics(prefix).map((t) => t.name) }).catch(() => undefined);
  await admin.disconnect();
  const server = new URL(stack.databaseUrl);
  server.pathname = '/postgres';
  const client = new pg.Client({ connectionString: server.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "lifecycle_${runId}" WITH (FORCE)`);
  await client.end();
}
// A kafkajs timer must not keep the process alive after the report.
setTimeout(() => process.exit(), 2_000).unref();
