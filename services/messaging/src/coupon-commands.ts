import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UsageError, type CommandContext } from '@lifecycle/kit/command';
import { loadConfig } from './config.ts';
import { createCoupons, loadCouponPools } from './coupons.ts';
import { createCouponsRepository } from './db/coupons-repository.ts';
import { codesFromCsv, toCsv } from './domain/coupon-csv.ts';
import { runMessagingCommand } from './messaging-command.ts';

// The coupon pools are messaging's: these commands run its code against its database.

function poolsOf(env: CommandContext['env']) {
  return loadCouponPools(loadConfig(env).COUPONS_FILE);
}

/** `coupons:import POOL file.csv`: a shop's discount-code export into an imported pool; exit 1 when the file holds no codes. */
export async function couponsImportCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  const [pool, file] = positionals;
  if (pool === undefined || file === undefined || positionals.length !== 2) throw new UsageError('coupons:import needs a pool and a CSV file: coupons:import win-back codes.csv');
  const pools = poolsOf(env);
  const config = pools[pool];
  if (config === undefined) throw new UsageError(`no pool "${pool}" in ${loadConfig(env).COUPONS_FILE} (pools: ${Object.keys(pools).join(', ') || 'none'}); add it with kind: imported first`);
  if (config.kind !== 'imported') throw new UsageError(`pool "${pool}" generates its codes (kind: generated); import codes only into a pool of kind: imported`);
  const read = codesFromCsv(await readFile(file, 'utf8'));
  if (!read.ok) {
    say(`${file}: ${read.error}`);
    return 1;
  }
  const now = new Date();
  const result = await runMessagingCommand('coupons:import', { env, now: () => now }, async ({ runtime }) => {
    const repository = createCouponsRepository({ db: runtime.db, pool: runtime.pool });
    const imported = await repository.importCodes(pool, read.codes, now);
    const stats = await createCoupons({ repository, pools, secret: undefined, logger: runtime.logger }).stats();
    return { ...imported, available: stats.pools.find((p) => p.pool === pool)?.available ?? null };
  });
  const notes = [result.known > 0 ? `${result.known} already known, left as they were` : '', read.duplicates > 0 ? `${read.duplicates} repeated in the file` : ''].filter((n) => n !== '');
  say(`imported ${result.imported} code${result.imported === 1 ? '' : 's'} into ${pool}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}; ${result.available ?? 0} available`);
  return read.codes.length === 0 ? 1 : 0;
}

/** `coupons:export POOL [file.csv]`: a pool's codes with when each was issued, expires, its campaign and first redemption. */
export async function couponsExportCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  const [pool, file] = positionals;
  if (pool === undefined || positionals.length > 2) throw new UsageError('coupons:export needs a pool, and optionally a file to write: coupons:export birthday codes.csv');
  const rows = await runMessagingCommand('coupons:export', { env }, async ({ runtime }) => createCouponsRepository({ db: runtime.db, pool: runtime.pool }).exportCodes(pool));
  const iso = (at: Date | null): string | null => (at === null ? null : at.toISOString());
  const csv = toCsv(
    ['code', 'issued_at', 'expires_at', 'campaign_id', 'redeemed_at'],
    rows.map((r) => [r.code, iso(r.issuedAt), iso(r.expiresAt), r.campaignId, iso(r.redeemedAt)]),
  );
  if (file === undefined) process.stdout.write(csv);
  else {
    await writeFile(file, csv);
    say(`${rows.length} code${rows.length === 1 ? '' : 's'} of ${pool} written to ${file}`);
  }
  return 0;
}

/** `coupons:status`: each pool's codes left, issued and redeemed; exit 1 when a pool is low. */
export async function couponsStatusCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  if (args.length > 0) throw new UsageError('coupons:status takes no arguments');
  const pools = poolsOf(env);
  const stats = await runMessagingCommand('coupons:status', { env }, async ({ runtime }) =>
    createCoupons({ repository: createCouponsRepository({ db: runtime.db, pool: runtime.pool }), pools, secret: undefined, logger: runtime.logger }).stats(),
  );
  for (const p of stats.pools) {
    process.stdout.write(`${p.pool}  ${p.kind}  available ${p.available ?? 'unlimited'}  issued ${p.issued}  redeemed ${p.redeemed}${p.low ? '  LOW: import more codes' : ''}\n`);
  }
  say(`${stats.pools.length} pool${stats.pools.length === 1 ? '' : 's'}${stats.pools.some((p) => p.low) ? '; some are running low' : ''}`);
  return stats.pools.some((p) => p.low) ? 1 : 0;
}
