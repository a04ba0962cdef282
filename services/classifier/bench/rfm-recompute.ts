/**
 * Benchmark: how long the RFM recompute takes over a large customer base, and how long its
 * longest transaction is (what a consumer might wait behind).
 * `pnpm bench:rfm` (env BENCH_CUSTOMERS, default 100000; RFM_BATCH_SIZE, default 2000).
 * Uses DATABASE_URL or the local server and a fresh database; seeds the customers by SQL.
 * Not a test: nothing here passes or fails.
 */
import { join } from 'node:path';
import { benchRun } from '@lifecycle/tools/bench-run';
import { createLogger, inTransaction, openRuntime } from '@lifecycle/kit';
import { loadConfig, rfmWorkerSettings } from '../src/config.ts';
import { requestRfmRecompute, rfmStep } from '../src/rfm-recompute.ts';
import { seedCustomers } from '../test/seed-customers.ts';

const customers = Number(process.env.BENCH_CUSTOMERS ?? 100_000);
const run = benchRun(process.env);
const config = loadConfig({ ...process.env, DATABASE_URL: run.databaseUrl, TOPIC_PREFIX: run.topicPrefix, LOG_LEVEL: 'warn' });
const settings = rfmWorkerSettings(config);
const rates = { base: 'EUR', rates: { USD: 0.92, JPY: 0.0062 } };

const runtime = await openRuntime({ service: 'classifier', config, schema: 'classifier', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger: createLogger('bench', 'warn') });
let began = performance.now();
await seedCustomers(runtime.db, { count: customers, from: '2025-01-01T00:00:00.000Z' });
await runtime.pool.query('VACUUM ANALYZE classifier.profiles');
process.stdout.write(`seeded ${customers} customers in ${((performance.now() - began) / 1000).toFixed(1)} s\n`);

for (const round of ['first', 'second']) {
  await inTransaction(runtime.pool, (tx) => requestRfmRecompute(tx, new Date().toISOString()));
  const perPhase = new Map<string, { steps: number; ms: number; longest: number }>();
  began = performance.now();
  for (;;) {
    const stepBegan = performance.now();
    const step = await rfmStep(runtime.pool, settings, rates);
    const ms = performance.now() - stepBegan;
    if (step.kind === 'idle' || step.kind === 'busy') break;
    const phase = step.kind === 'finished' ? 'clear' : step.phase;
    const p = perPhase.get(phase) ?? { steps: 0, ms: 0, longest: 0 };
    perPhase.set(phase, { steps: p.steps + 1, ms: p.ms + ms, longest: Math.max(p.longest, ms) });
    if (step.kind === 'finished') break;
  }
  const seconds = (performance.now() - began) / 1000;
  const steps = [...perPhase.values()].reduce((n, p) => n + p.steps, 0);
  const longest = Math.max(...[...perPhase.values()].map((p) => p.longest));
  // With the worker's pacing, each run takes batches for budgetMs and then pauses pollMs.
  const paced = seconds + Math.ceil((seconds * 1000) / settings.budgetMs) * (settings.pollMs / 1000);
  process.stdout.write(
    `${round} recompute of ${customers} customers (batches of ${settings.batchSize}): ${seconds.toFixed(1)} s of work in ${steps} transactions, longest ${Math.round(longest)} ms; ` +
      `paced by the worker (${settings.budgetMs} ms runs, ${settings.pollMs} ms apart) about ${Math.round(paced)} s\n`,
  );
  for (const [phase, p] of perPhase) process.stdout.write(`  ${phase}: ${p.steps} × avg ${Math.round(p.ms / p.steps)} ms, longest ${Math.round(p.longest)} ms\n`);
}
await runtime.close();
await run.cleanUp(runtime.kafka);
