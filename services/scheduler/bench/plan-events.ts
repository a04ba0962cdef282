/**
 * Benchmark: how fast the scheduler takes in `lifecycle.events` (contacts, exits, conversions
 * and planning for the shipped campaigns). `pnpm bench:scheduler-events` (env BENCH_EVENTS,
 * default 50000; BENCH_CUSTOMERS, default 5000). Uses KAFKA_BROKERS / DATABASE_URL or the local
 * broker and server, a fresh database and topic prefix, and prints events per second. Not a
 * test: nothing here passes or fails.
 */
import { join } from 'node:path';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { benchRun, runtimeWithBacklog } from '@lifecycle/tools/bench-run';
import { loadCampaigns } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler } from '../src/service.ts';

const events = Number(process.env.BENCH_EVENTS ?? 50_000);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 5_000);
const run = benchRun(process.env);
const config = loadConfig({ ...process.env, DATABASE_URL: run.databaseUrl, TOPIC_PREFIX: run.topicPrefix, LOG_LEVEL: 'warn' });
const start = Date.parse('2027-02-01T00:00:00.000Z');

/** A realistic mix: mostly product views, some checkouts and orders, a few identifies. */
function event(i: number): LifecycleEvent {
  const customerId = `cust-${i % customers}`;
  const at = new Date(start + i * 1_000).toISOString();
  const id = `${run.runId}-${i}`;
  const kind = i % 20;
  const call =
    kind === 0
      ? { type: 'identify' as const, messageId: id, timestamp: at, userId: customerId, traits: { email: `${customerId}@example.com`, first_name: 'Ada', timezone: 'Europe/Berlin' } }
      : kind < 4
        ? { type: 'track' as const, messageId: id, timestamp: at, userId: customerId, event: 'Order Completed', properties: { order_id: `o-${i}`, checkout_id: `chk-${i - 1}`, total: 40, currency: 'EUR', products: [{ name: 'Beans', sku: 'B', price: 40, quantity: 1, category: 'Coffee' }] } }
        : kind < 6
          ? { type: 'track' as const, messageId: id, timestamp: at, userId: customerId, event: 'Checkout Started', properties: { checkout_id: `chk-${i}`, total: 40, currency: 'EUR' } }
          : { type: 'track' as const, messageId: id, timestamp: at, userId: customerId, event: 'Product Viewed', properties: { product_id: `p-${i % 50}`, name: 'Grinder', price: 65, currency: 'EUR' } };
  return { id, type: 'commerce.event', version: 1, occurredAt: at, customerId, causationId: id, payload: { call } };
}

const runtime = await runtimeWithBacklog({ service: 'scheduler', schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), config, events, customers, event });

const { campaigns, settings } = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
// The clock stands before the events, so planned jobs wait: this measures taking events in.
const clock = simulatedClock(new Date(start - 60_000));
const began = performance.now();
const cpuBefore = process.cpuUsage();
const scheduler = await startScheduler({ runtime, campaigns, settings, clock, simulated: clock, pollMs: 60_000 });
for (;;) {
  const { rows } = await runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler.processed_events');
  if ((rows[0]?.n ?? 0) >= events) break;
  await new Promise((r) => setTimeout(r, 500));
}
const seconds = (performance.now() - began) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const [jobs] = (await runtime.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler.jobs')).rows;
process.stdout.write(`took in ${events} events in ${seconds.toFixed(1)} s: ${Math.round(events / seconds)} events/s, ${jobs?.n ?? 0} jobs planned (consumer start-up included); ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU in this process\n`);
await scheduler.stop();
await runtime.close();
await run.cleanUp(runtime.kafka);
