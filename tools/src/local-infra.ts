import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { ensureDatabase, ensureTopics } from '@lifecycle/kit';
import { declaredTopics } from '@lifecycle/contracts';
import { defaultBrokerOptions, ensureBroker, portAnswers } from './kafka-broker.ts';
import { redactUrl } from './stack-config.ts';

export type BrokerOrigin = 'KAFKA_BROKERS' | 'started' | 'already running';

/**
 * The brokers to use: those in KAFKA_BROKERS when set (they must answer), otherwise the local
 * broker, started in the background if nothing answers on its port yet.
 */
export async function ensureKafka(
  brokersFromEnv: string[] | undefined,
  log: (line: string) => void,
): Promise<{ brokers: string[]; origin: BrokerOrigin }> {
  if (brokersFromEnv !== undefined) {
    const answers = await Promise.all(brokersFromEnv.map((b) => hostPortAnswers(b)));
    if (!answers.some(Boolean)) {
      throw new Error(`no broker in KAFKA_BROKERS=${brokersFromEnv.join(',')} answers; start it, or unset KAFKA_BROKERS to use the local broker`);
    }
    return { brokers: brokersFromEnv, origin: 'KAFKA_BROKERS' };
  }
  const broker = await ensureBroker(defaultBrokerOptions(log));
  return { brokers: [broker.address], origin: broker.started ? 'started' : 'already running' };
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

/** Creates the declared topics (and their dead-letter topics) that are missing. */
export async function ensureStackTopics(brokers: string[], prefix: string): Promise<{ created: string[]; all: string[] }> {
  const created = await ensureTopics(adminKafka(brokers), prefix);
  return { created, all: declaredTopics(prefix).map((t) => t.name) };
}

/** A kafkajs client for the tools; its own chatter stays quiet unless it is an error. */
export function adminKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'lifecycle-tools',
    brokers,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 300, retries: 5 },
    logLevel: logLevel.ERROR,
  });
}
