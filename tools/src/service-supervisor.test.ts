import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseServices, type ServiceProcessSpec } from './service-supervisor.ts';
import { freePort } from './service-process.ts';
import { eventually } from './test-kit.ts';

/**
 * Tiny stand-ins for services, so the supervisor is tested for what it does with processes:
 * each run appends its pid to RUNS_FILE; `steady` serves /readyz until SIGTERM, `exits` ends
 * with EXIT_CODE after RUN_MS.
 */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  writeFileSync(
    join(dir, 'steady.mjs'),
    `import { appendFileSync } from 'node:fs';
     import { createServer } from 'node:http';
     appendFileSync(process.env.RUNS_FILE, process.pid + '\\n');
     const server = createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
     process.on('SIGTERM', () => server.close(() => process.exit(0)));`,
  );
  writeFileSync(
    join(dir, 'exits.mjs'),
    `import { appendFileSync } from 'node:fs';
     appendFileSync(process.env.RUNS_FILE, process.pid + '\\n');
     setTimeout(() => process.exit(Number(process.env.EXIT_CODE)), Number(process.env.RUN_MS));`,
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function service(name: string, script: 'steady' | 'exits', env: Record<string, string> = {}): Promise<ServiceProcessSpec & { runs: () => number[] }> {
  const port = await freePort();
  const runsFile = join(dir, `${name}.runs`);
  return {
    name,
    entry: `${script}.mjs`,
    nodeFlags: [],
    url: `http://127.0.0.1:${port}`,
    env: { ...process.env, PORT: String(port), RUNS_FILE: runsFile, ...env },
    runs: () => (existsSync(runsFile) ? readFileSync(runsFile, 'utf8').split('\n').filter((l) => l !== '').map(Number) : []),
  };
}

function supervise(services: ServiceProcessSpec[], policy = { initialDelayMs: 100, maxDelayMs: 400, resetAfterMs: 60_000 }) {
  const notes: string[] = [];
  const stop = new AbortController();
  let allReady = 0;
  const result = superviseServices({
    services,
    cwd: dir,
    write: () => {},
    note: (text) => notes.push(text),
    format: () => ({ nameWidth: 10, color: false }),
    restartPolicy: policy,
    stopSignal: stop.signal,
    onAllReady: () => (allReady += 1),
  });
  return { notes, result, stop: () => stop.abort(), allReady: () => allReady };
}

describe('superviseServices', () => {
  it('restarts a service that keeps dying with a doubling delay up to the cap, says so, and leaves the others running', async () => {
    const crashing = await service('crashing', 'exits', { EXIT_CODE: '3', RUN_MS: '20' });
    const steady = await service('steady', 'steady');
    const run = supervise([crashing, steady]);

    await eventually(() => expect(run.notes.some((n) => n.startsWith(`steady is ready at ${steady.url} (`))).toBe(true), 20_000);
    // Stopped right after a crash is reported, so the stop finds its restart pending (0.4 s away).
    await eventually(() => expect(run.notes.filter((n) => n.startsWith('crashing exited')).length).toBeGreaterThanOrEqual(5), 20_000, 20);
    run.stop();
    expect(run.notes.filter((n) => n.startsWith('crashing exited')).slice(0, 5)).toEqual([
      'crashing exited with code 3, restarting in 0.1 s',
      'crashing exited with code 3, restarting in 0.2 s',
      'crashing exited with code 3, restarting in 0.4 s',
      'crashing exited with code 3, restarting in 0.4 s',
      'crashing exited with code 3, restarting in 0.4 s',
    ]);
    expect(steady.runs()).toHaveLength(1);

    expect(await run.result).toBe(1);
    const runsAtStop = crashing.runs().length;
    await new Promise((r) => setTimeout(r, 800));
    // No restart after the stop, and the steady one was stopped, not killed.
    expect(crashing.runs()).toHaveLength(runsAtStop);
    expect(run.notes).toContain('crashing was waiting to be restarted');
    expect(run.notes.some((n) => n.startsWith('steady stopped with'))).toBe(false);
  });

  it('restarts a SIGKILLed service, reporting code 137, and it is ready again; Ctrl-C then stops all cleanly', async () => {
    const a = await service('a', 'steady');
    const b = await service('b', 'steady');
    const run = supervise([a, b]);
    await eventually(() => expect(run.allReady()).toBe(1), 20_000);

    const [pid] = a.runs();
    if (pid === undefined) throw new Error('a never ran');
    process.kill(pid, 'SIGKILL');
    await eventually(() => expect(run.notes).toContain('a exited with code 137 (SIGKILL), restarting in 0.1 s'), 10_000);
    await eventually(() => expect(run.notes.some((n) => n.startsWith(`a is ready again at ${a.url}`))).toBe(true), 20_000);
    expect(a.runs()).toHaveLength(2);
    expect(b.runs()).toHaveLength(1);
    expect(run.allReady()).toBe(1);

    run.stop();
    expect(await run.result).toBe(0);
    expect(run.notes.at(-1)).toBe('all services stopped');
  });

  it('starts the backoff over after a run longer than the reset time', async () => {
    const flaky = await service('flaky', 'exits', { EXIT_CODE: '1', RUN_MS: '300' });
    const run = supervise([flaky], { initialDelayMs: 100, maxDelayMs: 1_000, resetAfterMs: 200 });
    await eventually(() => expect(flaky.runs().length).toBeGreaterThanOrEqual(3), 20_000);
    run.stop();
    await run.result;
    expect(run.notes.filter((n) => n.startsWith('flaky exited')).every((n) => n === 'flaky exited with code 1, restarting in 0.1 s')).toBe(true);
  });

  it('does not restart a service with a configuration error, and ends once no service is left', async () => {
    const misconfigured = await service('misconfigured', 'exits', { EXIT_CODE: '2', RUN_MS: '10' });
    const run = supervise([misconfigured]);
    expect(await run.result).toBe(1);
    expect(misconfigured.runs()).toHaveLength(1);
    expect(run.notes).toEqual(['misconfigured exited with code 2: its configuration is wrong (see above); not restarting it', 'every service has stopped for good']);
  });
});
