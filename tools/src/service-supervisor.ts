import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatLogLine, type LogFormatOptions } from './log-format.ts';

export interface ServiceProcessSpec {
  name: string;
  /** The script `process.execPath` runs, relative to `cwd`. */
  entry: string;
  /** Node flags before the script. */
  nodeFlags: string[];
  /** The URL `/readyz` is polled on. */
  url: string;
  env: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  services: ServiceProcessSpec[];
  cwd: string;
  /** Writes one line of combined output. */
  write: (text: string) => void;
  /** Writes one line of the supervisor's own news. */
  note: (text: string) => void;
  /** Log formatting per service, minus the service name. */
  format: (name: string) => Omit<LogFormatOptions, 'service'>;
  /** How long services get to stop after SIGTERM before they are killed. */
  stopTimeoutMs?: number;
  /** When a service that is still not ready after this long gets a note saying why. */
  slowReadyMs?: number;
  /** Said once every service answers `/readyz`. */
  onAllReady?: () => void;
}

interface Running {
  spec: ServiceProcessSpec;
  child: ChildProcess;
  exited: Promise<void>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Runs the services as child processes until SIGINT, SIGTERM or SIGHUP, or until one exits on its own,
 * then stops the rest: SIGTERM, a grace period, SIGKILL. Resolves to the exit code for the CLI:
 * 0 after a requested stop that every service obeyed, 1 otherwise.
 */
export async function superviseServices(opts: SupervisorOptions): Promise<number> {
  const stopTimeoutMs = opts.stopTimeoutMs ?? 12_000;
  const running: Running[] = opts.services.map((spec) => startService(spec, opts));
  let stopping: 'requested' | 'failure' | undefined;
  let release: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    release = resolve;
  });

  const beginStop = (reason: 'requested' | 'failure'): void => {
    if (stopping !== undefined) return;
    stopping = reason;
    release();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== undefined) {
      opts.note(`${signal} again: killing the services now`);
      for (const r of running) if (r.exit === undefined) r.child.kill('SIGKILL');
      return;
    }
    opts.note(`${signal} received: stopping the services (press Ctrl-C again to kill them)`);
    beginStop('requested');
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  for (const r of running) {
    void r.exited.then(() => {
      if (stopping !== undefined) return;
      const how = r.exit?.signal != null ? `signal ${r.exit.signal}` : `code ${r.exit?.code ?? '?'}`;
      opts.note(`${r.spec.name} exited unexpectedly (${how}); stopping the other services`);
      beginStop('failure');
    });
  }

  const readiness = new AbortController();
  void waitUntilReady(running, opts, readiness.signal).then((allReady) => {
    if (allReady && stopping === undefined) opts.onAllReady?.();
  });

  await stopRequested;
  readiness.abort();
  for (const r of running) if (r.exit === undefined) r.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const r of running) {
      if (r.exit !== undefined) continue;
      opts.note(`${r.spec.name} did not stop within ${stopTimeoutMs / 1000} s; killing it`);
      r.child.kill('SIGKILL');
    }
  }, stopTimeoutMs);
  await Promise.all(running.map((r) => r.exited));
  clearTimeout(timer);
  for (const s of signals) process.off(s, onSignal);

  const failed = running.filter((r) => r.exit?.code !== 0);
  if (stopping === 'requested') {
    for (const r of failed) opts.note(`${r.spec.name} stopped with ${r.exit?.signal ?? `code ${r.exit?.code ?? '?'}`}`);
    opts.note(failed.length === 0 ? 'all services stopped' : 'services stopped, not all cleanly');
    return failed.length === 0 ? 0 : 1;
  }
  opts.note('services stopped after a failure');
  return 1;
}

function startService(spec: ServiceProcessSpec, opts: SupervisorOptions): Running {
  // Own process group: Ctrl-C reaches only the supervisor, which stops the services in order.
  const child = spawn(process.execPath, [...spec.nodeFlags, spec.entry], { cwd: opts.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const format: LogFormatOptions = { ...opts.format(spec.name), service: spec.name };
  const streamsDone: Promise<void>[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const readable = child[stream];
    if (readable === null) continue;
    const lines = createInterface({ input: readable, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line.trim() !== '') opts.write(formatLogLine(line, stream, format));
    });
    streamsDone.push(new Promise((resolve) => lines.once('close', resolve)));
  }
  const running: Running = { spec, child, exit: undefined, exited: Promise.resolve() };
  running.exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      opts.note(`${spec.name} could not be started: ${err.message}`);
      running.exit = { code: null, signal: null };
      resolve();
    });
    // 'close' comes after the output streams end, so no line is lost behind the exit note.
    child.once('close', (code, signal) => {
      running.exit = { code, signal };
      void Promise.all(streamsDone).then(() => resolve());
    });
  });
  return running;
}

/** Polls each service's `/readyz` until it answers 200; resolves true once all have. */
async function waitUntilReady(running: Running[], opts: SupervisorOptions, signal: AbortSignal): Promise<boolean> {
  const slowReadyMs = opts.slowReadyMs ?? 60_000;
  const results = await Promise.all(
    running.map(async (r) => {
      const started = Date.now();
      let warned = false;
      let last = 'no answer yet';
      while (!signal.aborted && r.exit === undefined) {
        try {
          const response = await fetch(`${r.spec.url}/readyz`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
          const body = (await response.text()).slice(0, 300);
          if (response.status === 200) {
            opts.note(`${r.spec.name} is ready at ${r.spec.url} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
            return true;
          }
          last = `/readyz answered ${response.status} ${body}`;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
        if (!warned && Date.now() - started > slowReadyMs) {
          warned = true;
          opts.note(`${r.spec.name} is still not ready after ${slowReadyMs / 1000} s: ${last}`);
        }
        await sleep(500, undefined, { signal }).catch(() => {});
      }
      return false;
    }),
  );
  return results.every(Boolean);
}
