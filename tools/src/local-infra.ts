import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { ensureDatabase, ensureTopicLayout, type PlannedTopic, type TopicSettings } from '@lifecycle/kit';
import { defaultBrokerOptions, defaultClusterOptions, ensureBroker, portAnswers, runningClusterBrokers, startKafkaCluster } from './kafka-broker.ts';
import { redactUrl } from './stack-config.ts';

export type BrokerOrigin = 'KAFKA_BROKERS' | 'started' | 'already running';

/**
 * The brokers to use: those in KAFKA_BROKERS when set (they must answer), otherwise the local
 * broker, started in the background if nothing answers on its port yet, or with `brokerCount`
 * above 1 a local cluster of that many nodes (see `startKafkaCluster`).
 */
export async function ensureKafka(
  brokersFromEnv: string[] | undefined,
  log: (line: string) => void,
  brokerCount = 1,
): Promise<{ brokers: string[]; origin: BrokerOrigin }> {
  if (brokersFromEnv !== undefined) {
    if (brokerCount > 1) throw new Error(`--brokers ${brokerCount} starts a local cluster; unset KAFKA_BROKERS to use it, or drop --brokers to use the brokers in KAFKA_BROKERS`);
    const answers = await Promise.all(brokersFromEnv.map((b) => hostPortAnswers(b)));
    if (!answers.some(Boolean)) {
      throw new Error(`no broker in KAFKA_BROKERS=${brokersFromEnv.join(',')} answers; start it, or unset KAFKA_BROKERS to use the local broker`);
    }
    return { brokers: brokersFromEnv, origin: 'KAFKA_BROKERS' };
  }
  const single = defaultBrokerOptions(log);
  const cluster = defaultClusterOptions(brokerCount, log);
  const clusterRunning = runningClusterBrokers(cluster.dataRoot);
  if (brokerCount === 1) {
    // A cluster started earlier with --brokers answers on the same first port: use all of it.
    if (clusterRunning.length > 0 && (await portAnswers(single.brokerPort))) return { brokers: clusterRunning, origin: 'already running' };
    const broker = await ensureBroker(single);
    return { brokers: [broker.address], origin: broker.started ? 'started' : 'already running' };
  }
  const firstPort = cluster.nodes[0]?.brokerPort ?? single.brokerPort;
  if (clusterRunning.length === 0 && (await portAnswers(firstPort))) {
    throw new Error(`a Kafka broker that is not a local cluster already answers on 127.0.0.1:${firstPort}; stop it with ./lifecycle stop-kafka (or set LIFECYCLE_KAFKA_PORT) to run ${brokerCount} brokers`);
  }
  const answering = await Promise.all(cluster.nodes.map((n) => portAnswers(n.brokerPort)));
  const started = await startKafkaCluster(cluster);
  return { brokers: started.brokers, origin: answering.every(Boolean) ? 'already running' : 'started' };
}

function hostPortAnswers(hostPort: string): Promise<boolean> {
  const at = hostPort.lastIndexOf(':');
  return portAnswers(Number(hostPort.slice(at + 1)), hostPort.slice(0, at).replace(/^\[|\]$/g, ''));
}

/** Creates the database when missing; a server that does not answer gets an error saying what to do. */
export async function ensureStackDatabase(url: string): Promise<'created' | 'exists'> {
  try {
    return (await ensureDatabase(url)) ? 'created' : 'exists';
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(
      `cannot reach PostgreSQL for DATABASE_URL=${redactUrl(url)} (${detail}); start PostgreSQL 15+ or point DATABASE_URL at a server`,
      { cause: err },
    );
  }
}

/** Fails with an error saying what to do unless the PostgreSQL server of the URL answers a query. */
export async function checkDatabaseServer(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)} (${detail}); start PostgreSQL 15+ or set DATABASE_URL`, { cause: err });
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates the declared topics (and their dead-letter topics) that are missing, sized for the cluster. */
export async function ensureStackTopics(
  brokers: string[],
  prefix: string,
  settings: TopicSettings = {},
): Promise<{ created: string[]; all: string[]; planned: PlannedTopic[]; brokerCount: number; differing: { name: string; partitions: number; replicationFactor: number; planned: PlannedTopic }[] }> {
  // Quiet: a new cluster answers "not hosted here" for a moment after creating topics, which the
  // wait for partition leaders rides out; kafkajs would print each answer as an ERROR.
  const layout = await ensureTopicLayout(adminKafka(brokers, logLevel.NOTHING), prefix, { settings });
  return { ...layout, all: layout.planned.map((t) => t.name) };
}

/** What the topics are created with, in one line: `3 partitions (dead letters 1), 3 replicas (min.insync.replicas 2) on 3 brokers`. */
export function describeTopicLayout(layout: { planned: PlannedTopic[]; brokerCount: number }): string {
  const distinct = (values: (number | string)[]): string => [...new Set(values)].join('/');
  const main = layout.planned.filter((t) => !t.catalogName.endsWith('.dlq'));
  const dead = layout.planned.filter((t) => t.catalogName.endsWith('.dlq'));
  const minIsr = distinct(layout.planned.map((t) => t.configEntries.find((c) => c.name === 'min.insync.replicas')?.value ?? '1'));
  return [
    `${distinct(main.map((t) => t.partitions))} partitions (dead letters ${distinct(dead.map((t) => t.partitions))})`,
    `${distinct(layout.planned.map((t) => t.replicationFactor))} replicas (min.insync.replicas ${minIsr})`,
    `on ${layout.brokerCount} broker${layout.brokerCount === 1 ? '' : 's'}`,
  ].join(', ');
}

/** An existing topic whose size differs from what would be created now; it is left as it is. */
export function differingNote(topic: { name: string; partitions: number; replicationFactor: number; planned: { partitions: number; replicationFactor: number } }): string {
  return `${topic.name} exists with ${topic.partitions} partitions and ${topic.replicationFactor} replicas (new topics get ${topic.planned.partitions} and ${topic.planned.replicationFactor}); existing topics are left as they are`;
}

/** A kafkajs client for the tools; its own chatter stays quiet unless it is an error. */
export function adminKafka(brokers: string[], level: logLevel = logLevel.ERROR): Kafka {
  return new Kafka({
    clientId: 'lifecycle-tools',
    brokers,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 300, retries: 5 },
    logLevel: level,
  });
}
