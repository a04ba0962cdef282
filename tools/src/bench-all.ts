/**
 * Runs every bench the project ships, one after another, and prints one Markdown table of their
 * figures with the machine, the date and the load average before each run: what the README's
 * bench table is made from. `pnpm bench:all [--skip e2e,…] [--e2e-seconds 300]`. Each bench's own
 * output goes to `.local/bench-all/<run>/<bench>.log`. Not a test: nothing here passes or fails.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const repoRoot = join(import.meta.dirname, '..', '..');

interface Bench {
  name: string;
  script: string;
  args?: string[];
  /** Table rows (stage, figure, ratio to the broker-only ceiling) read from the bench's output. */
  rows: (out: string) => [string, string, string][];
}

const num = (s: string | undefined): number => Number((s ?? '').replaceAll(',', ''));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const match = (out: string, re: RegExp): RegExpMatchArray | null => out.match(re);

const benches: Bench[] = [
  {
    name: 'ingestion',
    script: 'bench:ingestion',
    rows: (out) => {
      // | run | events/s | p50 ms | p99 ms | of broker ceiling | CPU µs per event | peak RSS |
      const row = (label: string) => match(out, new RegExp(`\\| ${label}[^|]*\\| ([\\d,]+) \\| [\\d,]+ \\| [\\d,]+ \\| ([\\d.]+) \\| [\\d,]* \\|\\s*([\\d,]*)`));
      const broker = row('broker alone');
      const kafka = row('service, from commerce.events');
      const http = row('service, over HTTP');
      return [
        ['broker alone, produce → consume (`pnpm bench:ingestion`)', `${broker?.[1] ?? '?'} events/s`, '1.00'],
        ['ingestion from `commerce.events`', `${kafka?.[1] ?? '?'} events/s, peak RSS ${kafka?.[3] || '?'} MB`, kafka?.[2] ?? '?'],
        ['ingestion over HTTP `/v1/batch`', `${http?.[1] ?? '?'} events/s, peak RSS ${http?.[3] || '?'} MB`, http?.[2] ?? '?'],
      ];
    },
  },
  {
    name: 'classifier',
    script: 'bench:classifier',
    rows: (out) => {
      const m = match(out, /([\d,]+) events\/s, peak RSS (\d+) MiB/);
      return [['classifier, a backlog of 200,000 events (`pnpm bench:classifier`)', `${m?.[1] ?? '?'} events/s, peak RSS ${m?.[2] ?? '?'} MiB`, '']];
    },
  },
  {
    name: 'scheduler-events',
    script: 'bench:scheduler-events',
    rows: (out) => {
      const m = match(out, /([\d,]+) events\/s/);
      return [['scheduler intake, 50,000 lifecycle events (`pnpm bench:scheduler-events`)', `${m?.[1] ?? '?'} events/s`, '']];
    },
  },
  {
    name: 'scheduler',
    script: 'bench:scheduler',
    rows: (out) => {
      const m = match(out, /([\d,]+) jobs\/s end to end; lag from due time to messages.requested p50 ([\d.]+) s, p99 ([\d.]+) s/);
      return [['scheduler firing, 100,000 due of 1,000,000 pending (`pnpm bench:scheduler`)', `${m?.[1] ?? '?'} jobs/s, lag p50 ${m?.[2] ?? '?'} s, p99 ${m?.[3] ?? '?'} s`, '']];
    },
  },
  {
    name: 'scheduler-startup',
    script: 'bench:scheduler-startup',
    rows: (out) => {
      const added = match(out, /with them added[^:]*: ready in ([\d.]+) s, (\d+) jobs/);
      const again = match(out, /again with the same files: ready in ([\d.]+) s/);
      return [
        ['scheduler start-up, date campaigns added for 100,000 contacts (`pnpm bench:scheduler-startup`)', `ready in ${added?.[1] ?? '?'} s (${fmt(num(added?.[2]))} jobs planned)`, ''],
        ['scheduler restart, same campaign files', `ready in ${again?.[1] ?? '?'} s`, ''],
      ];
    },
  },
  {
    name: 'messaging',
    script: 'bench:messaging',
    rows: (out) => {
      const rate = match(out, /([\d,]+) messages\/s/);
      const lat = match(out, /p50 (\d+) ms, p99 (\d+) ms/);
      return [['messaging, a burst of 2,000 to a SendGrid stand-in over HTTP (`pnpm bench:messaging`)', `${rate?.[1] ?? '?'} messages/s, p50 ${fmt(num(lat?.[1]))} ms, p99 ${fmt(num(lat?.[2]))} ms`, '']];
    },
  },
  {
    name: 'e2e',
    script: 'bench:e2e',
    rows: (out) => {
      const line = out.split('\n').findLast((l) => l.startsWith('e2e ') && l.includes('order→send')) ?? '?';
      return [['end to end, four services as processes (`pnpm bench:e2e`)', `\`${line.trim()}\``, '']];
    },
  },
];

const { values } = parseArgs({ options: { skip: { type: 'string', default: '' }, 'e2e-seconds': { type: 'string', default: '300' } } });
const skip = new Set(values.skip.split(',').filter(Boolean));
const run = new Date().toISOString().replace(/[:.]/g, '-');
const logDir = join(repoRoot, '.local', 'bench-all', run);
await mkdir(logDir, { recursive: true });

function runBench(bench: Bench): Promise<string> {
  const args = ['run', bench.script, ...(bench.name === 'e2e' ? ['--seconds', values['e2e-seconds']] : [])];
  return new Promise((resolve) => {
    const child = spawn('pnpm', args, { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(logDir, `${bench.name}.log`));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      log.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
    child.on('close', (code) => {
      log.end();
      resolve(code === 0 ? out : `${out}\n(exit ${code})`);
    });
  });
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
const lines = ['| stage | figure | of broker ceiling | load average before |', '|---|---|---|---|'];
for (const bench of benches) {
  if (skip.has(bench.name)) continue;
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  process.stderr.write(`bench:all: ${bench.name} (load ${load}) …\n`);
  const out = await runBench(bench);
  for (const [stage, figure, ratio] of bench.rows(out)) lines.push(`| ${stage} | ${figure} | ${ratio} | ${load} |`);
}
process.stdout.write(`\nBenches of ${new Date().toISOString().slice(0, 10)} on ${machine} (logs in ${logDir})\n\n${lines.join('\n')}\n`);
