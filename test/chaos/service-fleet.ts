import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../tools/src/kafka-broker.ts';
import { freePort } from '../../tools/src/service-process.ts';
import { nodeFlags, serviceCatalog, serviceEntry, type ServiceName } from '../../tools/src/stack-config.ts';

/**
 * The four services as separate processes on fixed ports (one or more of each), each started
 * again with the same command after it dies: after the delay the chaos run chose when it killed
 * it, or after a short backoff when it died by itself (a restart while the database is cut fails
 * at its migrations). Output goes to one log file per process, written by the process itself, so
 * a busy service's logging costs the run that watches it nothing.
 */

/** One process of the fleet: `ingestion`, or `ingestion-2` when there are several of a service. */
export interface FleetMember {
  id: string;
  service: ServiceName;
  port: number;
}

/** `replicas` processes of each service, on free ports, in the catalog's start-up order. */
export async function fleetMembers(replicas: number): Promise<FleetMember[]> {
  const members: FleetMember[] = [];
  for (const { name } of serviceCatalog) {
    for (let i = 1; i <= replicas; i++) members.push({ id: replicas === 1 ? name : `${name}-${i}`, service: name, port: await freePort() });
  }
  return members;
}

export interface FleetEvent {
  /** Epoch ms. */
  at: number;
  service: string;
  what: string;
}

interface Member extends FleetMember {
  child: ChildProcess | undefined;
  exited: Promise<void>;
  /** Set while the chaos run holds it down: the exit is expected and the restart is timed. */
  killedOnPurpose: boolean;
  crashesInARow: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The log file, opened for appending; the process writes to it directly. */
  log: number | undefined;
}

export interface Fleet {
  /** The URL of a member, by id. */
  url: (id: string) => string;
  /** The members running now, with their process ids. */
  running: () => (FleetMember & { pid: number })[];
  /** Starts every service and waits until each answers `/readyz`. */
  start: (timeoutMs: number) => Promise<void>;
  /** SIGKILL, then the same command again after `downMs`; resolves once it is ready again. */
  crash: (id: string, downMs: number, readyTimeoutMs: number) => Promise<{ downForMs: number }>;
  /** True when every service answers `/readyz`. */
  allReady: () => Promise<boolean>;
  /** SIGTERM each, SIGKILL after the deadline; the exit code of each (null: had to be killed). */
  stop: (deadlineMs: number) => Promise<Record<string, number | string | null>>;
  /** Last resort on the way out: SIGKILL whatever still runs, synchronously. */
  killNow: () => void;
  events: FleetEvent[];
}

export function createFleet(opts: { members: readonly FleetMember[]; env: NodeJS.ProcessEnv; logDir: string; note: (line: string) => void; signal: AbortSignal }): Fleet {
  const events: FleetEvent[] = [];
  let stopping = false;
  const record = (service: string, what: string): void => {
    events.push({ at: Date.now(), service, what });
    opts.note(`${service}: ${what}`);
  };
  const members: Member[] = opts.members.map((m) => ({
    ...m,
    child: undefined,
    exited: Promise.resolve(),
    killedOnPurpose: false,
    crashesInARow: 0,
    restartTimer: undefined,
    log: undefined,
  }));
  const member = (id: string): Member => {
    const found = members.find((m) => m.id === id);
    if (found === undefined) throw new Error(`no process ${id} in the fleet`);
    return found;
  };
  const url = (id: string): string => `http://127.0.0.1:${member(id).port}`;
  const logLine = (m: Member, line: string): void => {
    if (m.log !== undefined) writeSync(m.log, `--- ${line} at ${new Date().toISOString()}\n`);
  };

  const launch = (m: Member): void => {
    m.log ??= openSync(join(opts.logDir, `${m.id}.log`), 'a');
    // Own process group: a Ctrl-C reaches only the run, which stops the services in order.
    const child = spawn(process.execPath, [...nodeFlags, serviceEntry(m.service)], {
      cwd: repoRoot,
      // PGAPPNAME names its database sessions in pg_stat_activity (node-postgres reads it).
      env: { ...opts.env, PORT: String(m.port), HOST: '127.0.0.1', PGAPPNAME: m.id },
      stdio: ['ignore', m.log, m.log],
      detached: true,
    });
    logLine(m, `started pid ${child.pid ?? '?'}`);
    m.child = child;
    const startedAt = Date.now();
    m.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        logLine(m, `exited with ${signal ?? code}`);
        resolve();
        if (stopping || m.killedOnPurpose || m.child !== child) return;
        // Died by itself: start it again, 1 s, 2 s, 4 s … at most 8 s while it keeps dying young.
        m.crashesInARow = Date.now() - startedAt > 60_000 ? 1 : m.crashesInARow + 1;
        const delay = Math.min(8_000, 1_000 * 2 ** (m.crashesInARow - 1));
        record(m.id, `exited by itself with ${signal ?? `code ${code}`}; restarting in ${delay / 1000} s`);
        m.restartTimer = setTimeout(() => {
          m.restartTimer = undefined;
          if (!stopping) launch(m);
        }, delay);
      });
    });
  };

  const ready = async (m: Member): Promise<boolean> => {
    try {
      return (await fetch(`${url(m.id)}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
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
    throw new Error(`${m.id} was not ready within ${timeoutMs / 1000} s; see ${join(opts.logDir, `${m.id}.log`)}`);
  };

  return {
    url,
    events,
    running: () => members.flatMap((m) => (m.child?.pid === undefined || m.child.exitCode !== null || m.child.signalCode !== null ? [] : [{ id: m.id, service: m.service, port: m.port, pid: m.child.pid }])),
    start: async (timeoutMs) => {
      for (const m of members) launch(m);
      await Promise.all(members.map((m) => waitReady(m, timeoutMs)));
    },
    crash: async (id, downMs, readyTimeoutMs) => {
      const m = member(id);
      clearTimeout(m.restartTimer);
      m.killedOnPurpose = true;
      const killedAt = Date.now();
      m.child?.kill('SIGKILL');
      await m.exited;
      record(id, 'SIGKILL');
      await sleep(downMs);
      m.killedOnPurpose = false;
      m.crashesInARow = 0;
      if (stopping) return { downForMs: Date.now() - killedAt };
      launch(m);
      record(id, 'started again');
      await waitReady(m, readyTimeoutMs);
      const downForMs = Date.now() - killedAt;
      record(id, `ready again, ${(downForMs / 1000).toFixed(1)} s after the kill`);
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
            codes[m.id] = 'not running';
            return;
          }
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
          await m.exited;
          clearTimeout(timer);
          codes[m.id] = child.exitCode ?? child.signalCode;
        }),
      );
      for (const m of members) {
        if (m.log !== undefined) closeSync(m.log);
        m.log = undefined;
      }
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
