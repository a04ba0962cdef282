import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { declaredTopics } from '@lifecycle/contracts';

/**
 * Error types a KRaft broker answers while its metadata cache still lags the controller, e.g.
 * just after a topic was created on a broker that has only just started. kafkajs' own
 * `createTopics({ waitForLeaders: true })` retries only LEADER_NOT_AVAILABLE and gives up on the
 * others, although the topics were created.
 */
const lagging = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

function isLagging(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  if ('type' in err && typeof err.type === 'string' && lagging.has(err.type)) return true;
  if ('cause' in err && isLagging(err.cause, depth + 1)) return true;
  return 'originalError' in err && isLagging(err.originalError, depth + 1);
}

/** Creates every declared topic that is missing; existing topics are left as they are. */
async function createMissingTopics(admin: Admin, prefix: string): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = declaredTopics(prefix).filter((t) => !existing.has(t.name));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
    })),
  });
}

/**
 * Creates the declared topics that are missing, then waits until the broker serves a leader for
 * every partition of every declared topic, so producers and consumers started next find them.
 * Resolves to the names of the topics that were missing.
 */
export async function ensureTopics(kafka: Kafka, prefix: string, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const names = declaredTopics(prefix).map((t) => t.name);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const before = new Set(await admin.listTopics());
    for (;;) {
      try {
        await createMissingTopics(admin, prefix);
        break;
      } catch (err) {
        if (!isLagging(err) || Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        const ready = names.every((name) => {
          const found = topics.find((t) => t.name === name);
          return found !== undefined && found.partitions.length > 0 && found.partitions.every((p) => p.leader >= 0);
        });
        if (ready) break;
      } catch (err) {
        if (!isLagging(err)) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics with prefix "${prefix}" have no partition leaders after ${timeoutMs / 1000} s`);
      await sleep(250);
    }
    return names.filter((name) => !before.has(name));
  } finally {
    await admin.disconnect();
  }
}
