/**
 * Benchmark: the scheduler's start-up with a large customer base whose date campaigns must be
 * planned (a birthday campaign added to the files). `pnpm bench:scheduler-startup` (env
 * BENCH_CONTACTS, default 100000). Seeds that many contacts with a birthday, a first-order date
 * and a time zone (one of five), then times three start-ups until the service is ready: with the
 * date campaigns left out of the files, with them in (every contact planned), and again with the
 * same files. Uses KAFKA_BROKERS / DATABASE_URL or the local broker and server, a fresh database
 * and topic prefix. Not a test: nothing here passes or fails.
 */
import { join } from 'node:path';
import { benchRun } from '@lifecycle/tools/bench-run';
import { createLogger, ensureDatabase, ensureTopics, openRuntime } from '@lifecycle/kit';
import { loadCampaigns } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler } from '../src/service.ts';

const contacts = Number(process.env.BENCH_CONTACTS ?? 100_000);
const run = benchRun(process.env);
const config = loadConfig({ ...process.env, DATABASE_URL: run.databaseUrl, TOPIC_PREFIX: run.topicPrefix, LOG_LEVEL: 'warn' });
const now = new Date('2027-06-01T12:00:00.000Z');

await ensureDatabase(config.DATABASE_URL);
const runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger: createLogger('bench', 'warn') });
await ensureTopics(runtime.kafka, config.TOPIC_PREFIX);
await runtime.pool.query(
  `INSERT INTO scheduler.contacts (customer_id, email, time_zone, as_of, birthday, first_order_date)
   SELECT 'c-' || g, 'c' || g || '@example.com',
          (ARRAY['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney'])[g % 5 + 1], now(),
          to_char(date '1960-01-01' + ((g::bigint * 7919) % 15000)::int, 'YYYY-MM-DD'), to_char(date '2020-01-01' + ((g::bigint * 104729) % 2000)::int, 'YYYY-MM-DD')
   FROM generate_series(1, $1::int) g`,
  [contacts],
);
await runtime.pool.query('ANALYZE scheduler.contacts');

const shipped = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
const dated = shipped.campaigns.filter((c) => 'date' in c.trigger).map((c) => c.id);

async function timedStart(label: string, campaigns: typeof shipped.campaigns): Promise<void> {
  const clock = simulatedClock(now);
  const began = performance.now();
  const scheduler = await startScheduler({ runtime, campaigns, settings: shipped.settings, clock, simulated: clock, pollMs: 3_600_000 });
  const seconds = (performance.now() - began) / 1000;
  await scheduler.stop();
  const { rows } = await runtime.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM scheduler.jobs WHERE status = 'pending'");
  process.stdout.write(`${label}: ready in ${seconds.toFixed(1)} s, ${rows[0]?.n ?? 0} jobs pending\n`);
}

process.stdout.write(`${contacts} contacts with a birthday and a first-order date; date campaigns: ${dated.join(', ')}\n`);
await timedStart('start-up without the date campaigns', shipped.campaigns.filter((c) => !dated.includes(c.id)));
await timedStart('start-up with them added (every contact planned)', shipped.campaigns);
await timedStart('start-up again with the same files', shipped.campaigns);

await runtime.close();
await run.cleanUp(runtime.kafka);
