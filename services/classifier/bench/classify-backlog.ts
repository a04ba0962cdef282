/**
 * Benchmark: how fast the classifier works through a backlog on `lifecycle.events`.
 * `pnpm bench:classifier` (env BENCH_EVENTS, default 200000; BENCH_CUSTOMERS, default 20000).
 * Uses KAFKA_BROKERS / DATABASE_URL or the local broker and server, a fresh database and topic
 * prefix, and prints events per second and peak memory (and the RSS the process had, after producing
 * the backlog, when classifying began). Not a test: nothing here passes or fails.
 */
import { join } from 'node:path';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { benchRun, runtimeWithBacklog } from '@lifecycle/tools/bench-run';
import { loadConfig } from '../src/config.ts';
import { startClassifier } from '../src/service.ts';
import { loadThresholds } from '../src/thresholds-file.ts';

const events = Number(process.env.BENCH_EVENTS ?? 200_000);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 20_000);
const run = benchRun(process.env);
const config = loadConfig({ ...process.env, DATABASE_URL: run.databaseUrl, TOPIC_PREFIX: run.topicPrefix, LOG_LEVEL: 'warn' });

const names = ['Page Viewed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'NPS Survey Answered', 'Product Reviewed'];
const start = Date.UTC(2025, 0, 1);

function event(i: number): LifecycleEvent {
  const customerId = `cust-${i % customers}`;
  const at = new Date(start + Math.floor(i / customers) * 86_400_000 + (i % 86_400) * 1000).toISOString();
  const name = names[(i * 7919) % names.length] ?? 'Page Viewed';
  const properties: Record<string, unknown> =
    name === 'Order Completed' ? { order_id: `o-${i}`, total: 20 + (i % 80), currency: 'USD', products: [] } : name === 'NPS Survey Answered' ? { score: i % 11 } : { rating: 1 + (i % 5) };
  const id = `${run.runId}-${i}`;
  return { id, type: 'commerce.event', version: 1, occurredAt: at, customerId, causationId: id, payload: { call: { type: 'track', messageId: id, timestamp: at, userId: customerId, event: name, properties } } };
}

const runtime = await runtimeWithBacklog({ service: 'classifier', schema: 'classifier', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), config, events, customers, event });

// The backlog was produced by this process: its garbage is collected first (with --expose-gc), so
// the RSS before classifying is the baseline the classifier's own growth is measured from.
(globalThis as { gc?: () => void }).gc?.();
const baseRss = process.memoryUsage().rss;
let peakRss = baseRss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const began = performance.now();
const service = await startClassifier(runtime, await loadThresholds(config.LIFECYCLE_CONFIG));
for (;;) {
  const { rows } = await runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM classifier.processed_events');
  const done = rows[0]?.n ?? 0;
  if (done >= events) break;
  await new Promise((r) => setTimeout(r, 1_000));
}
// Stage changes and timer requests are published from the outbox after each commit: done when it is empty too.
while ((await service.outbox.backlog()) > 0) await new Promise((r) => setTimeout(r, 200));
const seconds = (performance.now() - began) / 1000;
clearInterval(sampler);
const [stages] = (await runtime.pool.query('SELECT count(*)::int AS customers, count(DISTINCT stage)::int AS stages FROM classifier.profiles')).rows;
process.stdout.write(
  `classified ${events} events (${stages.customers} customers) and published their records in ${seconds.toFixed(1)} s: ${Math.round(events / seconds)} events/s, peak RSS ${Math.round(peakRss / 1_048_576)} MiB, ${Math.round(baseRss / 1_048_576)} MiB before classifying (broker and PostgreSQL not included)\n`,
);
await service.stop();
await runtime.close();
await run.cleanUp(runtime.kafka);
