import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatLogLine, type LogFormatOptions } from './log-format.ts';
import { CONFIG_ERROR_EXIT_CODE, crashesInARow, defaultRestartPolicy, describeExit, formatDelay, restartDelayMs, type RestartPolicy } from './restart-policy.ts';

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
  /** When a service that died is started again; default 1 s, 2 s, 4 s … up to 30 s. */
  restartPolicy?: RestartPolicy;
  /** Stops the services as SIGINT does (for callers other than a terminal). */
  stopSignal?: AbortSignal;
}

interface Running {
  spec: ServiceProcessSpec;
  child: ChildProcess;
  exited: Promise<void>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** One service across its restarts. */
interface Slot {
  spec: ServiceProcessSpec;
  /** The process now, if one runs. */
  current: Running | undefined;
  startedAt: number;
  /** Crashes in a row, for the backoff. */
  crashes: number;
  runs: number;
  restart: NodeJS.Timeout | undefined;
  /** It exited with a configuration error and is not restarted. */
  gaveUp: boolean;
  readyOnce: boolean;
}

/**
 * Runs the services as child processes until SIGINT, SIGTERM or SIGHUP (or `stopSignal`), then
 * stops them: SIGTERM, a grace period, SIGKILL. A service that dies meanwhile is started again
 * after a backoff, and the others keep running; one that exits with a configuration error (code 2)
 * is left stopped, as restarting cannot fix it. Resolves to the exit code for the CLI: 0 after a
 * requested stop that every service obeyed, 1 otherwise (or once every service has given up).
 */
export async function superviseServices(opts: SupervisorOptions): Promise<number> {
  const stopTimeoutMs = opts.stopTimeoutMs ?? 12_000;
  const policy = opts.restartPolicy ?? defaultRestartPolicy;
  let stopping: 'requested' | 'failure' | undefined;
  let release: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    release = resolve;
  });
  const readiness = new AbortController();
  const slots: Slot[] = opts.services.map((spec) => ({ spec, current: undefined, startedAt: 0, crashes: 0, runs: 0, restart: undefined, gaveUp: false, readyOnce: false }));
  let announced = false;

  const beginStop = (reason: 'requested' | 'failure'): void => {
    if (stopping !== undefined) return;
    stopping = reason;
    release();
  };

  const launch = (slot: Slot): void => {
    slot.startedAt = Date.now();
    slot.runs += 1;
    const running = startService(slot.spec, opts);
    slot.current = running;
    void waitUntilReady(running, opts, readiness.signal).then((seconds) => {
      if (seconds === undefined || stopping !== undefined) return;
      opts.note(`${slot.spec.name} is ready ${slot.readyOnce ? 'again ' : ''}at ${slot.spec.url} (${seconds.toFixed(1)} s)`);
      slot.readyOnce = true;
      if (!announced && slots.every((s) => s.readyOnce)) {
        announced = true;
        opts.onAllReady?.();
      }
    });
    void running.exited.then(() => onExit(slot, running));
  };

  const onExit = (slot: Slot, running: Running): void => {
    if (stopping !== undefined || slot.current !== running) return;
    slot.current = undefined;
    const exit = running.exit ?? { code: null, signal: null };
    if (exit.code === CONFIG_ERROR_EXIT_CODE) {
      slot.gaveUp = true;
      opts.note(`${slot.spec.name} exited with code ${exit.code}: its configuration is wrong (see above); not restarting it`);
      if (slots.every((s) => s.gaveUp)) beginStop('failure');
      return;
    }
    slot.crashes = crashesInARow(slot.crashes, Date.now() - slot.startedAt, policy);
    const delay = restartDelayMs(slot.crashes, policy);
    opts.note(`${slot.spec.name} exited with ${describeExit(exit)}, restarting in ${formatDelay(delay)}`);
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (stopping === undefined) launch(slot);
    }, delay);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping !== undefined) {
      opts.note(`${signal} again: killing the services now`);
      for (const slot of slots) slot.current?.child.kill('SIGKILL');
      return;
    }
    opts.note(`${signal} received: stopping the services (press Ctrl-C again to kill them)`);
    beginStop('requested');
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const onStopSignal = (): void => onSignal('SIGTERM');
  opts.stopSignal?.addEventListener('abort', onStopSignal, { once: true });

  for (const slot of slots) launch(slot);

  await stopRequested;
  readiness.abort();
  const pending = slots.filter((slot) => slot.restart !== undefined);
  for (const slot of slots) {
    clearTimeout(slot.restart);
    slot.restart = undefined;
  }
  const running = slots.flatMap((slot) => (slot.current === undefined ? [] : [slot.current]));
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
  opts.stopSignal?.removeEventListener('abort', onStopSignal);

  if (stopping === 'requested') {
    const failed = running.filter((r) => r.exit?.code !== 0);
    for (const r of failed) opts.note(`${r.spec.name} stopped with ${r.exit === undefined ? 'no exit code' : describeExit(r.exit)}`);
    for (const slot of pending) opts.note(`${slot.spec.name} was waiting to be restarted`);
    const clean = failed.length === 0 && pending.length === 0 && slots.every((s) => !s.gaveUp);
    opts.note(clean ? 'all services stopped' : 'services stopped, not all cleanly');
    return clean ? 0 : 1;
  }
  opts.note('every service has stopped for good');
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

/** Polls a run's `/readyz` until it answers 200; resolves to the seconds that took, or undefined when the run ended first. */
async function waitUntilReady(r: Running, opts: SupervisorOptions, signal: AbortSignal): Promise<number | undefined> {
  const slowReadyMs = opts.slowReadyMs ?? 60_000;
  const started = Date.now();
  let warned = false;
  let last = 'no answer yet';
  while (!signal.aborted && r.exit === undefined) {
    try {
      const response = await fetch(`${r.spec.url}/readyz`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
      const body = (await response.text()).slice(0, 300);
      if (response.status === 200) return (Date.now() - started) / 1000;
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
  return undefined;
}
