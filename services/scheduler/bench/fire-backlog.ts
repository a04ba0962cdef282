/**
 * Benchmark: how fast the scheduler fires jobs that come due at once, with a large schedule.
 * `pnpm bench:scheduler` (env BENCH_PENDING, default 1000000 pending jobs; BENCH_DUE, default
 * 100000 of them due at the same instant; BENCH_CUSTOMERS, default 100000; BENCH_BATCH, jobs per
 * transaction, default 500). Uses KAFKA_BROKERS / DATABASE_URL or the local broker and server,
 * a fresh database and topic prefix, and prints jobs fired per second and the lag from due time
 * to the record on `messages.requested`. Not a test: nothing here passes or fails.
 */
import { join } from 'node:path';
import { benchRun } from '@lifecycle/tools/bench-run';
import { createLogger, ensureDatabase, ensureTopics, openRuntime } from '@lifecycle/kit';
import { topicName } from '@lifecycle/contracts';
import { loadCampaigns } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler } from '../src/service.ts';

const pending = Number(process.env.BENCH_PENDING ?? 1_000_000);
const dueNow = Number(process.env.BENCH_DUE ?? 100_000);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 500);
const run = benchRun(process.env);
const config = loadConfig({ ...process.env, DATABASE_URL: run.databaseUrl, TOPIC_PREFIX: run.topicPrefix, LOG_LEVEL: 'warn' });
const dueAt = new Date('2027-06-01T12:00:00.000Z');

const logger = createLogger('bench', 'warn');
await ensureDatabase(config.DATABASE_URL);
const runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger });
await ensureTopics(runtime.kafka, config.TOPIC_PREFIX);

process.stdout.write(`seeding ${customers} customers and ${pending} pending jobs, ${dueNow} of them due at ${dueAt.toISOString()}\n`);
const seeded = performance.now();
await runtime.pool.query(
  `INSERT INTO scheduler.contacts (customer_id, email, first_name, time_zone, as_of)
   SELECT 'c-' || g, 'c' || g || '@example.com', 'Customer ' || g, 'UTC', now() FROM generate_series(1, $1::int) g`,
  [customers],
);
// Thank-you jobs (transactional: no window, no cap) carrying a realistic order snapshot.
await runtime.pool.query(
  `INSERT INTO scheduler.jobs (dedupe_key, campaign_id, customer_id, trigger_event_id, due_at, trigger_at, category, trigger_data)
   SELECT 'post-purchase-thank-you:c-' || (g % $3::int + 1) || ':e-' || g, 'post-purchase-thank-you', 'c-' || (g % $3::int + 1), 'e-' || g,
          CASE WHEN g <= $2::int THEN $4::timestamptz ELSE $4::timestamptz + (g || ' minutes')::interval END, $4::timestamptz, 'transactional',
          jsonb_build_object('order', jsonb_build_object('orderId', 'o-' || g, 'total', 42.5, 'currency', 'USD',
            'products', jsonb_build_array(jsonb_build_object('name', 'Ceramic Pour-Over Dripper', 'quantity', 1, 'price', 32),
                                          jsonb_build_object('name', 'Paper Filters', 'quantity', 1, 'price', 10.5))))
   FROM generate_series(1, $1::int) g`,
  [pending, dueNow, customers, dueAt.toISOString()],
);
await runtime.pool.query('ANALYZE scheduler.jobs; ANALYZE scheduler.contacts');
process.stdout.write(`seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s\n`);

// Lag: when each request reached this consumer (with a simulated clock the records carry the
// scheduler's time, not the wall time they were published at).
const arrivals: number[] = [];
const consumer = runtime.kafka.consumer({ groupId: `${run.runId}-lag` });
await consumer.connect();
await consumer.subscribe({ topic: topicName(config.TOPIC_PREFIX, 'messagesRequested'), fromBeginning: true });
await consumer.run({ eachBatch: async ({ batch }) => void arrivals.push(...batch.messages.map(() => Date.now())) });

const { campaigns, settings } = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
const clock = simulatedClock(new Date(dueAt.getTime() - 60_000));
const scheduler = await startScheduler({ runtime, campaigns, settings, clock, simulated: clock, pollMs: 60_000, batchSize });

// The instant the jobs come due, in wall time: lag is measured from here.
const began = Date.now();
const cpuBefore = process.cpuUsage();
clock.set(dueAt);
const fired = await scheduler.runner.runDue();
const seconds = (Date.now() - began) / 1000;
const cpu = process.cpuUsage(cpuBefore);
while (arrivals.length < fired) await new Promise((r) => setTimeout(r, 100));
const lags = arrivals.map((t) => t - began).sort((a, b) => a - b);
const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? 0;
// The runner commits its decisions and the outbox relay publishes them: the last arrival is when all were out.
const published = pct(100) / 1000;
process.stdout.write(
  `fired ${fired} due jobs (of ${pending} pending) in ${seconds.toFixed(1)} s: ${Math.round(fired / seconds)} jobs/s, batches of ${batchSize}; ` +
    `all on messages.requested after ${published.toFixed(1)} s: ${Math.round(fired / published)} jobs/s end to end; ` +
    `lag from due time to messages.requested p50 ${(pct(50) / 1000).toFixed(1)} s, p99 ${(pct(99) / 1000).toFixed(1)} s, max ${(pct(100) / 1000).toFixed(1)} s; ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU in this process while firing\n`,
);

await consumer.disconnect();
await scheduler.stop();
await runtime.close();
await run.cleanUp(runtime.kafka);
