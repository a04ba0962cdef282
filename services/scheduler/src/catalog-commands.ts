import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, createPool, inTransaction, type Transaction } from '@lifecycle/kit';
import type { CommandContext } from '@lifecycle/kit/command';
import { loadCampaigns } from './campaign-files.ts';
import { planCatalogChanges, type CatalogPlanning } from './catalog-intake.ts';
import { loadConfig } from './config.ts';
import { insertJobs } from './consumer.ts';
import { recordProducts } from './db/catalog-repository.ts';
import { loadCurrencyRates } from './currency-rates-file.ts';
import { parseCatalogFile } from './domain/catalog-file.ts';
import type { ProductFacts } from './domain/catalog.ts';
import type { Logger } from '@lifecycle/kit';

/**
 * Applies an import's products as of `at`: products and prices upserted (unchanged ones left
 * alone), and back-in-stock and price-drop campaigns planned for interested customers, as a
 * `Product Updated` would. Returns how many products changed state and jobs were planned.
 */
export async function importCatalog(tx: Transaction, opts: CatalogPlanning, products: readonly ProductFacts[], importId: string, at: Date, logger: Logger): Promise<{ changes: number; planned: number }> {
  const changes = await recordProducts(
    tx,
    products.map((facts) => ({ sourceId: `${importId}:${facts.productId}`, at, facts, authoritative: true })),
    at,
  );
  const jobs = await planCatalogChanges(tx, opts, changes);
  const planned = await insertJobs(tx, jobs, logger, (key) => jobs.find((j) => j.dedupeKey === key)?.triggerEventId ?? importId);
  return { changes: changes.length, planned };
}

/** `catalog:import FILE [--at ISO]`: products from a CSV or JSON file into the scheduler's catalog; exit 1 on a mistake in the file. */
export async function catalogImportCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { at: { type: 'string' } }, allowPositionals: true, strict: true });
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) {
    process.stderr.write('usage: catalog:import FILE.(csv|json) [--at ISO-TIME]\n');
    return 1;
  }
  const at = values.at === undefined ? new Date() : new Date(values.at);
  if (Number.isNaN(at.getTime())) {
    process.stderr.write(`--at ${values.at ?? ''} is not a time; write it as 2026-05-04T09:00:00Z\n`);
    return 1;
  }
  const config = loadConfig(env);
  const { campaigns, settings } = await loadCampaigns(config.CAMPAIGNS_DIR, config.CONSENT_FILE);
  const parsed = parseCatalogFile(basename(file), await readFile(resolve(file), 'utf8'), settings.storeCurrency);
  if (!parsed.ok) {
    for (const problem of parsed.problems) process.stdout.write(`${problem}\n`);
    return 1;
  }
  const rates = await loadCurrencyRates(config.LIFECYCLE_CONFIG);
  const logger = createLogger('scheduler-catalog-import', 'warn');
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    const catalog = { halfLifeDays: config.CATALOG_HALF_LIFE_DAYS, minSupport: config.CATALOG_MIN_SUPPORT, minReorderSamples: config.CATALOG_MIN_REORDER_SAMPLES };
    const importId = `catalog-import:${basename(file)}:${at.toISOString()}`;
    const result = await inTransaction(pool, (tx) => importCatalog(tx, { campaigns, settings, rates, catalog }, parsed.products, importId, at, logger));
    say(`${parsed.products.length} product(s) imported from ${file}: ${result.changes} back in stock or cheaper, ${result.planned} message(s) planned`);
    return 0;
  } finally {
    await pool.end();
  }
}
