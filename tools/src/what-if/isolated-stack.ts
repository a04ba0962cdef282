import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { ensureDatabase, ensureTopics } from '@lifecycle/kit';
import { startServiceProcess, type ServiceProcess } from '../service-process.ts';

/**
 * A stack of its own for one replay: a database and a topic prefix nobody else uses, and
 * scheduler, ingestion and classifier as processes with a simulated clock. No messaging: the
 * messages the scheduler requests stay on the prefix's `messages.requested`; nothing is sent.
 */
export interface IsolatedStack {
  prefix: string;
  databaseUrl: string;
  brokers: string[];
  kafka: Kafka;
  urls: { scheduler: string; ingestion: string; classifier: string };
  /** The SERVICE_TOKEN its services require on their read and admin routes. */
  serviceToken: string;
  /** Stops the processes, drops the database and deletes the prefix's topics; safe to call twice. */
  dispose: () => Promise<void>;
}

export interface IsolatedStackOptions {
  brokers: string[];
  /** Any database URL on the server to use; the stack's database is a new one beside it. */
  serverDatabaseUrl: string;
  /** Names the database (`lifecycle_<name>`) and, after `parentPrefix`, the topic prefix (`<name>.`). */
  name: string;
  parentPrefix: string;
  campaignsDir: string;
  /** Where the simulated clock starts. */
  clockStart: Date;
  /** Logged lines of a process that failed to start go into the error. */
  env?: Record<string, string>;
}

function databaseUrlNamed(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Starts an isolated stack; whatever it has created is removed again if a part fails to start.
 * `track` gets its clean-up before anything is created, so an interruption mid-start removes it too.
 */
export async function startIsolatedStack(o: IsolatedStackOptions, track: (dispose: () => Promise<void>) => void = () => {}): Promise<IsolatedStack> {
  const databaseUrl = databaseUrlNamed(o.serverDatabaseUrl, `lifecycle_${o.name}`);
  const prefix = `${o.parentPrefix}${o.name}.`;
  const kafka = new Kafka({ clientId: `what-if-${o.name}`, brokers: o.brokers, logLevel: logLevel.NOTHING });
  const services: ServiceProcess[] = [];
  // Its own token: the replay's services answer only the replay.
  const serviceToken = randomBytes(24).toString('base64url');
  // One clean-up however many ask for it (the run's end, a failure, Ctrl-C), each waiting for all of it.
  let disposing: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposing ??= (async () => {
      await Promise.all(services.map((s) => s.stop(15_000).catch(() => null)));
      await dropDatabase(o.serverDatabaseUrl, `lifecycle_${o.name}`);
      await deleteTopics(kafka, prefix);
    })());
  track(dispose);
  try {
    await ensureDatabase(databaseUrl);
    // One partition per topic, as the demo's: the replay's services take the records in the order
    // they are replayed, so the live set and the candidate set meet the same sequence, and what
    // learns from all customers (reorder intervals, who viewed a product back in stock) does not
    // differ between the two runs by which partition was read first.
    await ensureTopics(kafka, prefix, { settings: { partitions: { all: 1, byTopic: {} } } });
    const env = {
      ...o.env,
      KAFKA_BROKERS: o.brokers.join(','),
      DATABASE_URL: databaseUrl,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: o.env?.LOG_LEVEL ?? 'warn',
      CLOCK: 'simulated',
      CLOCK_START: o.clockStart.toISOString(),
      CAMPAIGNS_DIR: o.campaignsDir,
      // The replayed records carry their original receipt times as Kafka timestamps.
      INGESTION_RECEIPT_TIME: 'record',
      SERVICE_TOKEN: serviceToken,
    };
    // The scheduler first: it publishes the clock the others start from.
    for (const name of ['scheduler', 'ingestion', 'classifier']) services.push(await startServiceProcess(name, env));
  } catch (err) {
    await dispose().catch(() => undefined);
    throw err;
  }
  const url = (name: string): string => services.find((s) => s.name === name)?.url ?? '';
  return { prefix, databaseUrl, brokers: o.brokers, kafka, serviceToken, urls: { scheduler: url('scheduler'), ingestion: url('ingestion'), classifier: url('classifier') }, dispose };
}

async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrlNamed(serverUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function deleteTopics(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 60_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
