import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root (this file is tools/src/kafka-broker.ts). */
export const repoRoot = join(import.meta.dirname, '..', '..');

export interface BrokerOptions {
  brokerPort: number;
  controllerPort: number;
  /** Where the broker keeps its log segments, its config and its own log file. */
  dataRoot: string;
  log: (line: string) => void;
}

export function defaultBrokerOptions(log: (line: string) => void): BrokerOptions {
  return {
    brokerPort: Number(process.env.LIFECYCLE_KAFKA_PORT ?? 9092),
    controllerPort: Number(process.env.LIFECYCLE_KAFKA_CONTROLLER_PORT ?? 9093),
    dataRoot: join(repoRoot, '.local', 'kafka'),
    log,
  };
}

/** True when something accepts TCP connections on the port. */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const libDir = join(repoRoot, 'infra', 'kafka', 'target', 'lib');

/** Fetches the broker jars from Maven Central through infra/kafka/pom.xml, once. */
export function ensureBrokerJars(log: (line: string) => void): void {
  if (existsSync(libDir) && readdirSync(libDir).some((f) => f.startsWith('kafka_2.13-'))) return;
  log('fetching the Kafka broker jars with Maven (first run only)');
  const result = spawnSync('mvn', ['-q', '-B', '-f', join(repoRoot, 'infra', 'kafka', 'pom.xml'), 'package'], { stdio: 'inherit' });
  if (result.error) throw new Error(`could not run mvn: ${result.error.message}. Install Apache Maven and Java 17+.`);
  if (result.status !== 0) throw new Error(`mvn exited with ${result.status} while fetching the Kafka jars`);
}

function java(args: string[], opts: { stdio: 'inherit' | 'pipe' }): ReturnType<typeof spawnSync> {
  const classpath = join(libDir, '*');
  return spawnSync('java', ['-cp', classpath, ...args], { stdio: opts.stdio });
}

/**
 * Starts a single-node KRaft broker in the background unless one already answers on the port.
 * The broker outlives this process, so later runs reuse it; `stopBroker` ends it.
 */
export async function ensureBroker(opts: BrokerOptions): Promise<{ started: boolean; address: string }> {
  const address = `127.0.0.1:${opts.brokerPort}`;
  if (await portAnswers(opts.brokerPort)) return { started: false, address };
  ensureBrokerJars(opts.log);
  const dataDir = join(opts.dataRoot, 'data');
  mkdirSync(dataDir, { recursive: true });
  const template = readFileSync(join(repoRoot, 'infra', 'kafka', 'server.properties'), 'utf8');
  const configPath = join(opts.dataRoot, 'server.properties');
  writeFileSync(
    configPath,
    template
      .replaceAll('${BROKER_PORT}', String(opts.brokerPort))
      .replaceAll('${CONTROLLER_PORT}', String(opts.controllerPort))
      .replaceAll('${DATA_DIR}', dataDir),
  );
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    opts.log(`formatting Kafka storage in ${dataDir}`);
    const id = java(['kafka.tools.StorageTool', 'random-uuid'], { stdio: 'pipe' });
    const clusterId = String(id.stdout).trim();
    if (id.status !== 0 || clusterId === '') throw new Error(`could not generate a Kafka cluster id: ${String(id.stderr)}`);
    const format = java(['kafka.tools.StorageTool', 'format', '--ignore-formatted', '-t', clusterId, '-c', configPath], { stdio: 'pipe' });
    if (format.status !== 0) throw new Error(`could not format Kafka storage: ${String(format.stderr)}${String(format.stdout)}`);
  }
  const logPath = join(opts.dataRoot, 'broker.log');
  opts.log(`starting Kafka on ${address} (log: ${logPath})`);
  const out = openSync(logPath, 'a');
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      `-Dlog4j.configuration=file:${join(repoRoot, 'infra', 'kafka', 'log4j.properties')}`,
      '-cp',
      join(libDir, '*'),
      'kafka.Kafka',
      configPath,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  if (child.pid === undefined) throw new Error('could not start java for the Kafka broker');
  writeFileSync(join(opts.dataRoot, 'broker.pid'), String(child.pid));
  child.unref();
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Kafka broker exited with ${child.exitCode}; see ${logPath}`);
    if (await portAnswers(opts.brokerPort)) return { started: true, address };
    await sleep(500);
  }
  throw new Error(`the Kafka broker did not answer on ${address} within 90 s; see ${logPath}`);
}

/** Stops a broker that `ensureBroker` started. */
export async function stopBroker(opts: BrokerOptions): Promise<boolean> {
  const pidPath = join(opts.dataRoot, 'broker.pid');
  if (!existsSync(pidPath)) return false;
  const pid = Number(readFileSync(pidPath, 'utf8'));
  rmSync(pidPath, { force: true });
  // The pid may have been reused since: only signal a process that is our broker.
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync(cmdline) && !readFileSync(cmdline, 'utf8').includes('kafka.Kafka')) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await portAnswers(opts.brokerPort))) await sleep(300);
  return true;
}
