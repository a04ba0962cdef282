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
  const result = spawnSync('mvn', ['-q', '-B', '-f', join(repoRoot, 'infra', 'kafka', 'pom.xml'), 'package'], { stdio: 'inherit', env: realClockEnv() });
  if (result.error) throw new Error(`could not run mvn: ${result.error.message}. Install Apache Maven and Java 17+.`);
  if (result.status !== 0) throw new Error(`mvn exited with ${result.status} while fetching the Kafka jars`);
}

/**
 * The environment for the broker's JVM without libfaketime: under `./lifecycle test
 * --clock-ahead` only the Node test processes run ahead; a broker a test starts keeps real time,
 * as PostgreSQL does (and a JVM under libfaketime starts too slowly to be useful).
 */
export function realClockEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('FAKETIME')));
  const preload = (env.LD_PRELOAD ?? '').split(/[\s:]+/).filter((lib) => lib !== '' && !lib.includes('faketime'));
  if (preload.length > 0) kept.LD_PRELOAD = preload.join(' ');
  else delete kept.LD_PRELOAD;
  return kept;
}

function java(args: string[], opts: { stdio: 'inherit' | 'pipe' }): ReturnType<typeof spawnSync> {
  const classpath = join(libDir, '*');
  return spawnSync('java', ['-cp', classpath, ...args], { stdio: opts.stdio, env: realClockEnv() });
}

/** One KRaft node (combined broker and controller) as infra/kafka/server.properties describes it. */
interface NodeConfig {
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
  /** `id@host:port` of every controller of the cluster. */
  quorumVoters: string;
  /** Copies of the broker's own topics (consumer offsets, transaction state). */
  replicationFactor: number;
  /** Where the node keeps its config, pid, log file and (in `data/`) its log segments. */
  dataRoot: string;
}

/** In-sync copies a write needs: two of three from three copies on (as the kit's topic plan), else one. */
function minInsync(replicationFactor: number): number {
  return replicationFactor >= 3 ? replicationFactor - 1 : 1;
}

/** Writes the node's server.properties; formats its storage the first time, with the cluster's id. */
function prepareNode(node: NodeConfig, clusterId: () => string, log: (line: string) => void): string {
  const dataDir = join(node.dataRoot, 'data');
  mkdirSync(dataDir, { recursive: true });
  const template = readFileSync(join(repoRoot, 'infra', 'kafka', 'server.properties'), 'utf8');
  const configPath = join(node.dataRoot, 'server.properties');
  writeFileSync(
    configPath,
    template
      .replaceAll('${NODE_ID}', String(node.nodeId))
      .replaceAll('${QUORUM_VOTERS}', node.quorumVoters)
      .replaceAll('${BROKER_PORT}', String(node.brokerPort))
      .replaceAll('${CONTROLLER_PORT}', String(node.controllerPort))
      .replaceAll('${REPLICATION_FACTOR}', String(node.replicationFactor))
      .replaceAll('${MIN_INSYNC_REPLICAS}', String(minInsync(node.replicationFactor)))
      .replaceAll('${DATA_DIR}', dataDir),
  );
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    log(`formatting Kafka storage in ${dataDir}`);
    const format = java(['kafka.tools.StorageTool', 'format', '--ignore-formatted', '-t', clusterId(), '-c', configPath], { stdio: 'pipe' });
    if (format.status !== 0) throw new Error(`could not format Kafka storage: ${String(format.stderr)}${String(format.stdout)}`);
  }
  return configPath;
}

function newClusterId(): string {
  const id = java(['kafka.tools.StorageTool', 'random-uuid'], { stdio: 'pipe' });
  const clusterId = String(id.stdout).trim();
  if (id.status !== 0 || clusterId === '') throw new Error(`could not generate a Kafka cluster id: ${String(id.stderr)}`);
  return clusterId;
}

/** Starts the node's JVM in the background (it outlives this process) and records its pid. */
function launchNode(node: NodeConfig, configPath: string, heap: string[], log: (line: string) => void): { exited: () => number | null; logPath: string } {
  const logPath = join(node.dataRoot, 'broker.log');
  log(`starting Kafka on 127.0.0.1:${node.brokerPort} (log: ${logPath})`);
  const out = openSync(logPath, 'a');
  const child = spawn(
    'java',
    [...heap, '-XX:+UseG1GC', `-Dlog4j.configuration=file:${join(repoRoot, 'infra', 'kafka', 'log4j.properties')}`, '-cp', join(libDir, '*'), 'kafka.Kafka', configPath],
    { detached: true, stdio: ['ignore', out, out], env: realClockEnv() },
  );
  if (child.pid === undefined) throw new Error('could not start java for the Kafka broker');
  writeFileSync(join(node.dataRoot, 'broker.pid'), String(child.pid));
  child.unref();
  return { exited: () => child.exitCode, logPath };
}

async function waitForPort(port: number, launched: { exited: () => number | null; logPath: string }, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const code = launched.exited();
    if (code !== null) throw new Error(`the Kafka broker exited with ${code}; see ${launched.logPath}`);
    if (await portAnswers(port)) return;
    await sleep(500);
  }
  throw new Error(`the Kafka broker did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s; see ${launched.logPath}`);
}

/**
 * Starts a single-node KRaft broker in the background unless one already answers on the port.
 * The broker outlives this process, so later runs reuse it; `stopBroker` ends it.
 */
export async function ensureBroker(opts: BrokerOptions): Promise<{ started: boolean; address: string }> {
  const address = `127.0.0.1:${opts.brokerPort}`;
  if (await portAnswers(opts.brokerPort)) return { started: false, address };
  ensureBrokerJars(opts.log);
  const node: NodeConfig = {
    nodeId: 1,
    brokerPort: opts.brokerPort,
    controllerPort: opts.controllerPort,
    quorumVoters: `1@127.0.0.1:${opts.controllerPort}`,
    replicationFactor: 1,
    dataRoot: opts.dataRoot,
  };
  const configPath = prepareNode(node, newClusterId, opts.log);
  await waitForPort(opts.brokerPort, launchNode(node, configPath, ['-Xms256m', '-Xmx1g'], opts.log));
  return { started: true, address };
}

/** The pid in a node's pid file when that process is still a Kafka broker (a pid may be reused). */
function brokerPid(dataRoot: string): number | undefined {
  const pidPath = join(dataRoot, 'broker.pid');
  if (!existsSync(pidPath)) return undefined;
  const pid = Number(readFileSync(pidPath, 'utf8'));
  const cmdline = `/proc/${pid}/cmdline`;
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (existsSync('/proc') && !(existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes('kafka.Kafka'))) return undefined;
  return processAlive(pid) ? pid : undefined;
}

/** True while the process runs (a zombie waiting for its parent counts as gone). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  return !(existsSync(stat) && / Z /.test(readFileSync(stat, 'utf8')));
}

/** Signals a node's broker and waits until it is gone; false when no broker of ours was running there. */
async function signalNode(dataRoot: string, signal: 'SIGTERM' | 'SIGKILL', timeoutMs = 30_000): Promise<boolean> {
  const pid = brokerPid(dataRoot);
  rmSync(join(dataRoot, 'broker.pid'), { force: true });
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && processAlive(pid)) await sleep(200);
  // A node whose controlled shutdown cannot finish (its quorum gone first) is ended outright.
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  return true;
}

/** Stops a broker that `ensureBroker` started. */
export async function stopBroker(opts: BrokerOptions): Promise<boolean> {
  return signalNode(opts.dataRoot, 'SIGTERM');
}

/** Ports of one node of a local cluster. */
export interface ClusterNodeSpec {
  nodeId: number;
  brokerPort: number;
  controllerPort: number;
}

export interface KafkaClusterOptions {
  nodes: ClusterNodeSpec[];
  /** Each node keeps its files in `<dataRoot>/node-<id>`; the cluster's id is in `<dataRoot>/cluster-id`. */
  dataRoot: string;
  log: (line: string) => void;
  /** The JVM's heap limit per node, e.g. `512m`. */
  maxHeap?: string;
  /** How long to wait for every node to join the cluster. */
  timeoutMs?: number;
}

/** One node of a running cluster, for tests that take brokers away. */
export interface ClusterNode extends ClusterNodeSpec {
  address: string;
  dataRoot: string;
  /** True while its broker process is alive. */
  running: () => boolean;
  /** Starts it again (after stop or kill) and waits until the cluster lists it. */
  start: () => Promise<void>;
  /** SIGTERM: a controlled shutdown that hands its partitions over first. */
  stop: () => Promise<void>;
  /** SIGKILL: a crash. */
  kill: () => Promise<void>;
}

export interface KafkaCluster {
  /** `host:port` of every broker, for KAFKA_BROKERS. */
  brokers: string[];
  nodes: ClusterNode[];
  /** Stops every node that still runs. */
  stop: () => Promise<void>;
}

/** Node `i` (from 1) of a cluster whose first broker listens on `firstPort`: brokers on even steps, each controller one above its broker. */
export function clusterNodeSpecs(count: number, firstPort: number): ClusterNodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({ nodeId: i + 1, brokerPort: firstPort + 2 * i, controllerPort: firstPort + 2 * i + 1 }));
}

/** The cluster `./lifecycle start --brokers N` runs: brokers from 127.0.0.1:9092 (LIFECYCLE_KAFKA_PORT), files in .local/kafka-cluster. */
export function defaultClusterOptions(count: number, log: (line: string) => void): KafkaClusterOptions {
  return {
    nodes: clusterNodeSpecs(count, Number(process.env.LIFECYCLE_KAFKA_PORT ?? 9092)),
    dataRoot: join(repoRoot, '.local', 'kafka-cluster'),
    log,
  };
}

function nodeRoot(dataRoot: string, nodeId: number): string {
  return join(dataRoot, `node-${nodeId}`);
}

/**
 * Runs a local KRaft cluster of combined broker-controller nodes from the same jars as the single
 * broker, each node in the background with its own ports and data folder; nodes that already
 * answer are reused. Resolves once every node is a broker of the cluster. Topics created on it get
 * min(3, nodes) replicas; the broker's own topics (consumer offsets) as many.
 */
export async function startKafkaCluster(opts: KafkaClusterOptions): Promise<KafkaCluster> {
  ensureBrokerJars(opts.log);
  mkdirSync(opts.dataRoot, { recursive: true });
  const clusterIdPath = join(opts.dataRoot, 'cluster-id');
  const clusterId = (): string => {
    if (!existsSync(clusterIdPath)) writeFileSync(clusterIdPath, newClusterId());
    return readFileSync(clusterIdPath, 'utf8').trim();
  };
  const quorumVoters = opts.nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',');
  const replicationFactor = Math.min(3, opts.nodes.length);
  const heap = ['-Xms128m', `-Xmx${opts.maxHeap ?? '512m'}`];
  const configs = opts.nodes.map((spec) => ({ ...spec, quorumVoters, replicationFactor, dataRoot: nodeRoot(opts.dataRoot, spec.nodeId) }));
  const configPaths = configs.map((node) => prepareNode(node, clusterId, opts.log));

  const startNode = async (i: number): Promise<void> => {
    const node = configs[i];
    const configPath = configPaths[i];
    if (node === undefined || configPath === undefined) throw new Error(`no node ${i + 1}`);
    if (await portAnswers(node.brokerPort)) return;
    await waitForPort(node.brokerPort, launchNode(node, configPath, heap, opts.log), opts.timeoutMs);
  };
  // Together: a node's broker opens its port only once a majority of controllers has formed a quorum.
  await Promise.all(configs.map((_, i) => startNode(i)));
  const brokers = configs.map((n) => `127.0.0.1:${n.brokerPort}`);
  await waitForBrokers(brokers, configs.map((n) => n.nodeId), opts.timeoutMs ?? 90_000);

  const nodes: ClusterNode[] = configs.map((node, i) => ({
    nodeId: node.nodeId,
    brokerPort: node.brokerPort,
    controllerPort: node.controllerPort,
    address: `127.0.0.1:${node.brokerPort}`,
    dataRoot: node.dataRoot,
    running: () => brokerPid(node.dataRoot) !== undefined,
    start: async () => {
      await startNode(i);
      await waitForBrokers(brokers, [node.nodeId], opts.timeoutMs ?? 90_000);
    },
    stop: async () => void (await signalNode(node.dataRoot, 'SIGTERM')),
    kill: async () => void (await signalNode(node.dataRoot, 'SIGKILL')),
  }));
  return { brokers, nodes, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
}

/** Stops the nodes of a cluster `startKafkaCluster` started; resolves to how many were running. */
export async function stopKafkaCluster(opts: Pick<KafkaClusterOptions, 'dataRoot'>): Promise<number> {
  if (!existsSync(opts.dataRoot)) return 0;
  const roots = readdirSync(opts.dataRoot).filter((f) => /^node-\d+$/.test(f)).map((f) => join(opts.dataRoot, f));
  const stopped = await Promise.all(roots.map((root) => signalNode(root, 'SIGTERM')));
  return stopped.filter(Boolean).length;
}

/** Waits until the cluster's metadata lists the brokers with these node ids, so topics created next get their replicas. */
async function waitForBrokers(brokers: string[], nodeIds: number[], timeoutMs: number): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ clientId: 'lifecycle-cluster', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  const deadline = Date.now() + timeoutMs;
  let seen: number[] = [];
  try {
    while (Date.now() < deadline) {
      try {
        await admin.connect();
        seen = (await admin.describeCluster()).brokers.map((b) => b.nodeId);
        if (nodeIds.every((id) => seen.includes(id))) return;
      } catch {
        // Not all nodes are up yet.
      }
      await sleep(500);
    }
    throw new Error(`the local Kafka cluster lists brokers [${seen.join(', ')}], not yet [${nodeIds.join(', ')}], after ${timeoutMs / 1000} s; see broker.log in each node's folder`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** `host:port` of the nodes of the cluster in `dataRoot` whose broker process runs. */
export function runningClusterBrokers(dataRoot: string): string[] {
  if (!existsSync(dataRoot)) return [];
  return readdirSync(dataRoot)
    .filter((f) => /^node-\d+$/.test(f))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .flatMap((f) => {
      const root = join(dataRoot, f);
      if (brokerPid(root) === undefined) return [];
      const port = /^listeners=PLAINTEXT:\/\/[^:,]+:(\d+)/m.exec(readFileSync(join(root, 'server.properties'), 'utf8'))?.[1];
      return port === undefined ? [] : [`127.0.0.1:${port}`];
    });
}

/**
 * Which node leads each partition of the cluster's topics, as its metadata says now: the node
 * leading `partition` of `topic`, and every `topic-partition` each node leads. For tests that
 * take a leader away.
 */
export async function partitionLeaders(brokers: string[], topic: string, partition = 0): Promise<{ leader: number; ledBy: Map<number, string[]> }> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ clientId: 'lifecycle-cluster', brokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata();
    const leader = topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionId === partition)?.leader;
    if (leader === undefined || leader < 0) throw new Error(`${topic} partition ${partition} has no leader now`);
    const ledBy = new Map<number, string[]>();
    for (const t of topics) for (const p of t.partitions) ledBy.set(p.leader, [...(ledBy.get(p.leader) ?? []), `${t.name}-${p.partitionId}`]);
    return { leader, ledBy };
  } finally {
    await admin.disconnect();
  }
}
