import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { repoRoot } from './kafka-broker.ts';
import { ensureChromium } from './browser.ts';
import { ensureConsoleWeb } from './console-web.ts';
import { checkDatabaseServer, ensureKafka } from './local-infra.ts';
import { nodeFlags, readStackConfig } from './stack-config.ts';
import { testTotals, totalsLine, VitestReport, type CheckResult } from './test-totals.ts';

export const vitestReportPath = join(repoRoot, '.local', 'vitest-report.json');

/**
 * `./lifecycle test`: the local broker and a PostgreSQL check, then type-check, lint and vitest
 * in that order, each run whatever the one before did, so the totals cover everything. Ends
 * with the totals line; resolves to the exit code.
 */
export async function runTests(opts: {
  vitestArgs: string[];
  /** A libfaketime offset such as `+400d`: the test processes' clock (only theirs) runs that far ahead. */
  clockAhead?: string | undefined;
  /** False: no type-check, lint or web-app check, only the set-up (and the web app built if stale) and vitest. */
  checks?: boolean;
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
}): Promise<number> {
  const { say } = opts;
  const checks: CheckResult[] = [];
  let vitestEnv: NodeJS.ProcessEnv | undefined;

  heading(say, 'set-up: Kafka broker and PostgreSQL');
  try {
    const config = readStackConfig(opts.env);
    const kafka = await ensureKafka(config.brokersFromEnv, say);
    // Test files create their own databases on this server, so point at its maintenance database.
    const server = new URL(config.databaseUrl);
    server.pathname = '/postgres';
    await checkDatabaseServer(server.toString());
    say(`Kafka ${kafka.brokers.join(',')} (${kafka.origin}), PostgreSQL ${server.host}`);
    // Explicit, so the tests' global set-up uses these rather than starting containers.
    vitestEnv = {
      ...opts.env,
      KAFKA_BROKERS: kafka.brokers.join(','),
      DATABASE_URL: server.toString(),
      NODE_OPTIONS: [opts.env.NODE_OPTIONS ?? '', ...nodeFlags].join(' ').trim(),
    };
    if (opts.clockAhead !== undefined) {
      // Set after the broker is running, so only the Node test processes (and the services they
      // spawn) move; Kafka and PostgreSQL keep real time, which exposes two clocks compared.
      vitestEnv = { ...vitestEnv, ...fakeClockEnv(opts.clockAhead, vitestEnv) };
      say(`test processes' clock moved ${opts.clockAhead} (libfaketime): they believe it is ${new Date(Date.now() + offsetMs(opts.clockAhead)).toISOString()}`);
    }
    // The console's browser test drives Debian's Chromium against the built web app; both once, here, not per test file.
    ensureChromium(say, opts.env);
    checks.push({ name: 'set-up', ok: true });
  } catch (err) {
    say(`set-up failed: ${err instanceof Error ? err.message : String(err)}`);
    say('type-check and lint still run; the tests do not');
    checks.push({ name: 'set-up', ok: false });
  }

  if (opts.checks !== false) {
    heading(say, 'type-check: tsc -p tsconfig.json, tsc -p services/console/web');
    const typesOk = (await runBin('tsc', ['-p', 'tsconfig.json'], opts.env)) === 0;
    checks.push({ name: 'type-check', ok: (await runBin('tsc', ['-p', 'services/console/web'], opts.env)) === 0 && typesOk });
    heading(say, 'lint: eslint .');
    checks.push({ name: 'lint', ok: (await runBin('eslint', ['.'], opts.env)) === 0 });
  }
  heading(say, 'build: the console’s web app');
  checks.push({ name: 'web build', ok: (await ensureConsoleWeb(say)) !== 'failed' });

  let vitest: { exitCode: number; report: VitestReport | undefined } | undefined;
  if (vitestEnv !== undefined) {
    const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestReportPath}`, ...opts.vitestArgs];
    heading(say, `tests: vitest ${args.join(' ')}`);
    mkdirSync(dirname(vitestReportPath), { recursive: true });
    rmSync(vitestReportPath, { force: true });
    const exitCode = await runBin('vitest', args, vitestEnv);
    vitest = { exitCode, report: readReport(say) };
  }

  const totals = testTotals(checks, vitest);
  say('');
  for (const check of checks) say(`${check.name.padEnd(10)} ${check.ok ? 'ok' : 'FAILED'}`);
  if (vitest !== undefined) say(`${'tests'.padEnd(10)} ${vitest.exitCode === 0 ? 'ok' : 'FAILED'} (report: .local/vitest-report.json)`);
  for (const note of totals.notes) say(`  - ${note}`);
  process.stdout.write(`${totalsLine(totals)}\n`);
  return totals.failed === 0 ? 0 : 1;
}

function heading(say: (line: string) => void, text: string): void {
  say('');
  say(`== ${text}`);
}

function readReport(say: (line: string) => void): VitestReport | undefined {
  if (!existsSync(vitestReportPath)) return undefined;
  try {
    return VitestReport.parse(JSON.parse(readFileSync(vitestReportPath, 'utf8')));
  } catch (err) {
    say(`could not read ${vitestReportPath}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** Runs a workspace binary from node_modules/.bin with this Node first on PATH; resolves to its exit code. */
function runBin(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const bin = join(repoRoot, 'node_modules', '.bin', name);
  const path = [dirname(process.execPath), env.PATH ?? ''].filter((p) => p !== '').join(delimiter);
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: repoRoot, env: { ...env, PATH: path }, stdio: 'inherit' });
    child.once('error', (err) => {
      process.stderr.write(`could not run ${bin}: ${err.message} (run pnpm install, or ./lifecycle which does)\n`);
      resolve(127);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/** `./lifecycle test` arguments: `--clock-ahead=+400d` (or `--clock-ahead +400d`) is ours, the rest go to vitest. */
export function splitTestArgs(args: string[]): { clockAhead: string | undefined; vitestArgs: string[] } {
  const rest = args[0] === '--' ? args.slice(1) : [...args];
  let clockAhead: string | undefined;
  const vitestArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '--clock-ahead') {
      clockAhead = rest[++i];
      if (clockAhead === undefined) throw new Error('--clock-ahead needs an offset such as +400d');
    } else if (arg.startsWith('--clock-ahead=')) {
      clockAhead = arg.slice('--clock-ahead='.length);
    } else {
      vitestArgs.push(arg);
    }
  }
  if (clockAhead !== undefined) offsetMs(clockAhead);
  return { clockAhead, vitestArgs };
}

const offsetUnits: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, y: 365 * 86_400_000 };

/** Milliseconds of a libfaketime relative offset (`+400d`, `-2h`, `+90m`). */
export function offsetMs(offset: string): number {
  const match = /^([+-])(\d+)([smhdy])$/.exec(offset);
  if (match === null) throw new Error(`--clock-ahead takes an offset such as +400d, -2h or +90m, not ${JSON.stringify(offset)}`);
  const [, sign, amount, unit] = match;
  return (sign === '-' ? -1 : 1) * Number(amount) * (offsetUnits[unit ?? 'd'] ?? 0);
}

const libfaketimeCandidates = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1',
  '/usr/local/lib/faketime/libfaketimeMT.so.1',
];

/** Environment that preloads libfaketime (Debian: `apt-get install faketime`) with the offset. */
function fakeClockEnv(offset: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const lib = libfaketimeCandidates.find((path) => existsSync(path));
  if (lib === undefined) throw new Error(`--clock-ahead needs libfaketime; install it (Debian: apt-get install faketime). Looked in ${libfaketimeCandidates.join(', ')}`);
  return {
    LD_PRELOAD: [env.LD_PRELOAD ?? '', lib].filter((p) => p !== '').join(' '),
    FAKETIME: offset,
    // Timers and timeouts run on the monotonic clock; only the wall clock moves.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    FAKETIME_NO_CACHE: '1',
  };
}
