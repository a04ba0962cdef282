import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { defaultBrokerOptions, ensureBroker } from './kafka-broker.ts';

/**
 * Vitest global setup: finds the infrastructure the integration tests run against, once per run.
 * KAFKA_BROKERS / DATABASE_URL when given; testcontainers when a Docker engine answers; otherwise
 * the local broker (started if needed) and the local PostgreSQL server.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    /** A server URL; each test file creates its own database on it. */
    databaseUrl: string;
    /** Unique per test run; test topics and databases carry it, so runs never see each other. */
    runId: string;
  }
}

type Teardown = () => Promise<void>;

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function fromTestcontainers(): Promise<{ brokers: string[]; databaseUrl: string; stop: Teardown }> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const [kafka, postgres] = await Promise.all([
    new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start(),
    new PostgreSqlContainer('postgres:15').start(),
  ]);
  return {
    brokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    databaseUrl: postgres.getConnectionUri(),
    stop: async () => {
      await Promise.all([kafka.stop(), postgres.stop()]);
    },
  };
}

export default async function setup(project: TestProject): Promise<Teardown> {
  const runId = `t${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  let brokers = process.env.KAFKA_BROKERS?.split(',').filter((b) => b !== '');
  let databaseUrl = process.env.DATABASE_URL;
  let stop: Teardown = async () => {};
  if ((brokers === undefined || databaseUrl === undefined) && (await dockerAnswers())) {
    const containers = await fromTestcontainers();
    brokers ??= containers.brokers;
    databaseUrl ??= containers.databaseUrl;
    stop = containers.stop;
  }
  if (brokers === undefined) {
    const broker = await ensureBroker(defaultBrokerOptions((line) => console.log(`[test-infra] ${line}`)));
    brokers = [broker.address];
  }
  databaseUrl ??= 'postgres://postgres@127.0.0.1:5432/postgres';
  project.provide('kafkaBrokers', brokers);
  project.provide('databaseUrl', databaseUrl);
  project.provide('runId', runId);
  const kafkaBrokers = brokers;
  return async () => {
    await dropRunDatabases(databaseUrl, runId);
    await deleteRunTopics(kafkaBrokers, runId);
    await stop();
  };
}

/**
 * Deletes the topics this run's test files created. Every file declares a full set of topics
 * under its own prefix; left behind, a day of runs piles up tens of thousands of partitions and
 * the broker dies of too many open files.
 */
async function deleteRunTopics(brokers: string[], runId: string): Promise<void> {
  const admin = new Kafka({ clientId: `test-teardown-${runId}`, brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(`${runId}_`));
    for (let i = 0; i < mine.length; i += 200) await admin.deleteTopics({ topics: mine.slice(i, i + 200), timeout: 60_000 });
  } catch (err) {
    // Left-over topics cost the broker file handles, not the run its verdict.
    console.warn(`[test-infra] could not delete this run's topics: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Drops the databases this run's test files created. */
async function dropRunDatabases(serverUrl: string, runId: string): Promise<void> {
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`lifecycle_${runId}_%`]);
    for (const { datname } of found.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
