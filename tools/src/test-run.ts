import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { repoRoot } from './kafka-broker.ts';
import { checkDatabaseServer, ensureKafka } from './local-infra.ts';
import { nodeFlags, readStackConfig } from './stack-config.ts';
import { testTotals, totalsLine, VitestReport, type CheckResult } from './test-totals.ts';

export const vitestReportPath = join(repoRoot, '.local', 'vitest-report.json');

/**
 * `./lifecycle test`: the local broker and a PostgreSQL check, then type-check, lint and vitest
 * in that order, each run whatever the one before did, so the totals cover everything. Ends
 * with the totals line; resolves to the exit code.
 */
export async function runTests(opts: { vitestArgs: string[]; env: NodeJS.ProcessEnv; say: (line: string) => void }): Promise<number> {
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
    checks.push({ name: 'set-up', ok: true });
  } catch (err) {
    say(`set-up failed: ${err instanceof Error ? err.message : String(err)}`);
    say('type-check and lint still run; the tests do not');
    checks.push({ name: 'set-up', ok: false });
  }

  heading(say, 'type-check: tsc -p tsconfig.json');
  checks.push({ name: 'type-check', ok: (await runBin('tsc', ['-p', 'tsconfig.json'], opts.env)) === 0 });
  heading(say, 'lint: eslint .');
  checks.push({ name: 'lint', ok: (await runBin('eslint', ['.'], opts.env)) === 0 });

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
