import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../tools/src/kafka-broker.ts';
import { nodeFlags, serviceEntry, type ServiceName } from '../../tools/src/stack-config.ts';

/**
 * The four services as separate processes on fixed ports, each started again with the same
 * command after it dies: after the delay the chaos run chose when it killed it, or after a short
 * backoff when it died by itself (a restart while the database is cut fails at its migrations).
 * Output goes to one log file per service.
 */

export interface FleetEvent {
  /** Epoch ms. */
  at: number;
  service: string;
  what: string;
}

interface Member {
  name: ServiceName;
  port: number;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  /** Set while the chaos run holds it down: the exit is expected and the restart is timed. */
  killedOnPurpose: boolean;
  crashesInARow: number;
  restartTimer: NodeJS.Timeout | undefined;
  log: WriteStream;
}

export interface Fleet {
  url: (name: ServiceName) => string;
  /** Starts every service and waits until each answers `/readyz`. */
  start: (timeoutMs: number) => Promise<void>;
  /** SIGKILL, then the same command again after `downMs`; resolves once it is ready again. */
  crash: (name: ServiceName, downMs: number, readyTimeoutMs: number) => Promise<{ downForMs: number }>;
  /** True when every service answers `/readyz`. */
  allReady: () => Promise<boolean>;
  /** SIGTERM each, SIGKILL after the deadline; the exit code of each (null: had to be killed). */
  stop: (deadlineMs: number) => Promise<Record<string, number | string | null>>;
  /** Last resort on the way out: SIGKILL whatever still runs, synchronously. */
  killNow: () => void;
  events: FleetEvent[];
}

export function createFleet(opts: { names: readonly ServiceName[]; ports: Record<ServiceName, number>; env: NodeJS.ProcessEnv; logDir: string; note: (line: string) => void; signal: AbortSignal }): Fleet {
  const events: FleetEvent[] = [];
  let stopping = false;
  const record = (service: string, what: string): void => {
    events.push({ at: Date.now(), service, what });
    opts.note(`${service}: ${what}`);
  };
  const members: Member[] = opts.names.map((name) => ({
    name,
    port: opts.ports[name],
    child: undefined,
    exited: Promise.resolve(),
    killedOnPurpose: false,
    crashesInARow: 0,
    restartTimer: undefined,
    log: createWriteStream(join(opts.logDir, `${name}.log`), { flags: 'a' }),
  }));
  const member = (name: ServiceName): Member => {
    const found = members.find((m) => m.name === name);
    if (found === undefined) throw new Error(`no service ${name} in the fleet`);
    return found;
  };
  const url = (name: ServiceName): string => `http://127.0.0.1:${member(name).port}`;

  const launch = (m: Member): void => {
    // Own process group: a Ctrl-C reaches only the chaos run, which stops the services in order.
    const child = spawn(process.execPath, [...nodeFlags, serviceEntry(m.name)], {
      cwd: repoRoot,
      env: { ...opts.env, PORT: String(m.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    m.log.write(`--- started pid ${child.pid ?? '?'} at ${new Date().toISOString()}\n`);
    child.stdout?.pipe(m.log, { end: false });
    child.stderr?.pipe(m.log, { end: false });
    m.child = child;
    const startedAt = Date.now();
    m.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        m.log.write(`--- exited with ${signal ?? code} at ${new Date().toISOString()}\n`);
        resolve();
        if (stopping || m.killedOnPurpose || m.child !== child) return;
        // Died by itself: start it again, 1 s, 2 s, 4 s … at most 8 s while it keeps dying young.
        m.crashesInARow = Date.now() - startedAt > 60_000 ? 1 : m.crashesInARow + 1;
        const delay = Math.min(8_000, 1_000 * 2 ** (m.crashesInARow - 1));
        record(m.name, `exited by itself with ${signal ?? `code ${code}`}; restarting in ${delay / 1000} s`);
        m.restartTimer = setTimeout(() => {
          m.restartTimer = undefined;
          if (!stopping) launch(m);
        }, delay);
      });
    });
  };

  const ready = async (m: Member): Promise<boolean> => {
    try {
      return (await fetch(`${url(m.name)}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
    } catch {
      return false;
    }
  };

  const waitReady = async (m: Member, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (stopping || opts.signal.aborted) throw new Error('interrupted');
      if (await ready(m)) return;
      await sleep(250);
    }
    throw new Error(`${m.name} was not ready within ${timeoutMs / 1000} s; see ${join(opts.logDir, `${m.name}.log`)}`);
  };

  return {
    url,
    events,
    start: async (timeoutMs) => {
      for (const m of members) launch(m);
      await Promise.all(members.map((m) => waitReady(m, timeoutMs)));
    },
    crash: async (name, downMs, readyTimeoutMs) => {
      const m = member(name);
      clearTimeout(m.restartTimer);
      m.killedOnPurpose = true;
      const killedAt = Date.now();
      m.child?.kill('SIGKILL');
      await m.exited;
      record(name, 'SIGKILL');
      await sleep(downMs);
      m.killedOnPurpose = false;
      m.crashesInARow = 0;
      if (stopping) return { downForMs: Date.now() - killedAt };
      launch(m);
      record(name, 'started again');
      await waitReady(m, readyTimeoutMs);
      const downForMs = Date.now() - killedAt;
      record(name, `ready again, ${(downForMs / 1000).toFixed(1)} s after the kill`);
      return { downForMs };
    },
    allReady: async () => (await Promise.all(members.map((m) => ready(m)))).every(Boolean),
    stop: async (deadlineMs) => {
      stopping = true;
      const codes: Record<string, number | string | null> = {};
      await Promise.all(
        members.map(async (m) => {
          clearTimeout(m.restartTimer);
          const child = m.child;
          if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
            codes[m.name] = 'not running';
            return;
          }
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
          await m.exited;
          clearTimeout(timer);
          codes[m.name] = child.exitCode ?? child.signalCode;
        }),
      );
      await Promise.all(members.map((m) => new Promise<void>((resolve) => m.log.end(() => resolve()))));
      return codes;
    },
    killNow: () => {
      stopping = true;
      for (const m of members) {
        clearTimeout(m.restartTimer);
        if (m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
      }
    },
  };
}
