import { randomBytes } from 'node:crypto';
import { createPool, type Kafka } from '@lifecycle/kit';

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
