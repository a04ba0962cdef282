import { randomBytes } from 'node:crypto';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { createLogger, createPool, createProducer, ensureDatabase, ensureTopics, openRuntime, publish, type Kafka, type Runtime, type RuntimeConfig } from '@lifecycle/kit';

/** A benchmark's own database and topic prefix, so a run never touches anyone's data. */
export interface BenchRun {
  runId: string;
  /** DATABASE_URL of the run's fresh database (created by the service runtime on open). */
  databaseUrl: string;
  topicPrefix: string;
  /** Drops the run's database and deletes its topics. */
  cleanUp: (kafka: Kafka) => Promise<void>;
}

export function benchRun(env: Record<string, string | undefined>): BenchRun {
  const runId = `bench_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const server = new URL(env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/lifecycle_${runId}`;
  const topicPrefix = `${runId}.`;
  return {
    runId,
    databaseUrl: server.toString(),
    topicPrefix,
    cleanUp: async (kafka) => {
      const admin = new URL(server);
      admin.pathname = '/postgres';
      const adminPool = createPool(admin.toString(), 1);
      await adminPool.query(`DROP DATABASE IF EXISTS "lifecycle_${runId}" WITH (FORCE)`);
      await adminPool.end();
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      await kafkaAdmin.deleteTopics({ topics: (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(topicPrefix)) });
      await kafkaAdmin.disconnect();
    },
  };
}

/**
 * A service's runtime on a bench run's database, with a backlog of `events` generated
 * `lifecycle.events` records already on the topic: what the classifier and scheduler benches
 * measure taking in.
 */
export async function runtimeWithBacklog(opts: {
  service: string;
  schema: string;
  migrationsFolder: string;
  config: RuntimeConfig;
  events: number;
  customers: number;
  event: (i: number) => LifecycleEvent;
}): Promise<Runtime> {
  const { config, events } = opts;
  const logger = createLogger('bench', 'warn');
  await ensureDatabase(config.DATABASE_URL);
  const runtime = await openRuntime({ service: opts.service, config, schema: opts.schema, migrationsFolder: opts.migrationsFolder, logger });
  await ensureTopics(runtime.kafka, config.TOPIC_PREFIX);
  const producer = createProducer(runtime.kafka);
  await producer.connect();
  process.stdout.write(`producing ${events} events for ${opts.customers} customers to ${config.TOPIC_PREFIX}lifecycle.events\n`);
  for (let i = 0; i < events; i += 2_000) {
    await publish(producer, config.TOPIC_PREFIX, 'lifecycleEvents', Array.from({ length: Math.min(2_000, events - i) }, (_, k) => opts.event(i + k)));
  }
  await producer.disconnect();
  return runtime;
}
