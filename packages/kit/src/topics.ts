import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { planTopics, type PlannedTopic, type TopicSettings } from './topic-plan.ts';

/**
 * Error types a KRaft broker answers while its metadata cache still lags the controller, e.g.
 * just after a topic was created on a broker that has only just started. kafkajs' own
 * `createTopics({ waitForLeaders: true })` retries only LEADER_NOT_AVAILABLE and gives up on the
 * others, although the topics were created.
 */
const lagging = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

export function isLagging(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  if ('type' in err && typeof err.type === 'string' && lagging.has(err.type)) return true;
  if ('cause' in err && isLagging(err.cause, depth + 1)) return true;
  return 'originalError' in err && isLagging(err.originalError, depth + 1);
}

/**
 * The offsets of every partition of `topic` (low and high), asked again while the broker answers
 * that it is not yet the leader: right after a topic is created, a KRaft broker's metadata can
 * name a leader that does not serve the partition yet (`NOT_LEADER_FOR_PARTITION` on ListOffsets).
 */
export async function topicOffsets(admin: Admin, topic: string, timeoutMs = 30_000): Promise<{ partition: number; low: string; high: string }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low, high }));
    } catch (err) {
      if (!isLagging(err) || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** Creates every planned topic that is missing; existing topics are left as they are. */
async function createMissingTopics(admin: Admin, plan: PlannedTopic[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = plan.filter((t) => !existing.has(t.name));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: t.replicationFactor,
      configEntries: t.configEntries,
    })),
  });
}

export interface EnsureTopicsOptions {
  /** How long to wait for the topics' partition leaders. */
  timeoutMs?: number;
  /** Partitions and replication factor beyond the catalog's (`TOPIC_PARTITIONS`, `TOPIC_REPLICATION_FACTOR`). */
  settings?: TopicSettings;
}

export interface TopicLayout {
  /** The topics that were missing and were created. */
  created: string[];
  /** What every declared topic is created with in this cluster. */
  planned: PlannedTopic[];
  brokerCount: number;
  /** Existing topics whose partitions or replicas differ from the plan: they are never changed here (fewer partitions would move customers between partitions). */
  differing: { name: string; partitions: number; replicationFactor: number; planned: PlannedTopic }[];
}

/**
 * Creates the declared topics that are missing, sized for the cluster (see `planTopics`), then
 * waits until the brokers serve a leader for every partition of every declared topic, so
 * producers and consumers started next find them.
 */
export async function ensureTopicLayout(kafka: Kafka, prefix: string, opts: EnsureTopicsOptions = {}): Promise<TopicLayout> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    const plan = planTopics(prefix, brokers.length, opts.settings);
    const names = plan.map((t) => t.name);
    const before = new Set(await admin.listTopics());
    for (;;) {
      try {
        await createMissingTopics(admin, plan);
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
        if (ready) {
          // A leader named in the metadata may not serve yet: ask each new topic for its offsets
          // (retried while it answers "not the leader"), so the first reader does not meet that.
          for (const name of names.filter((n) => !before.has(n))) await topicOffsets(admin, name, Math.max(1_000, deadline - Date.now()));
          const differing = plan.flatMap((planned) => {
            const found = topics.find((t) => t.name === planned.name);
            if (found === undefined || !before.has(planned.name)) return [];
            const partitions = found.partitions.length;
            const replicationFactor = Math.max(...found.partitions.map((p) => p.replicas.length));
            return partitions === planned.partitions && replicationFactor === planned.replicationFactor ? [] : [{ name: planned.name, partitions, replicationFactor, planned }];
          });
          return { created: names.filter((name) => !before.has(name)), planned: plan, brokerCount: brokers.length, differing };
        }
      } catch (err) {
        if (!isLagging(err)) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics with prefix "${prefix}" have no partition leaders after ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates the declared topics that are missing (see `ensureTopicLayout`). Resolves to the names
 * of the topics that were missing.
 */
export async function ensureTopics(kafka: Kafka, prefix: string, opts: EnsureTopicsOptions = {}): Promise<string[]> {
  return (await ensureTopicLayout(kafka, prefix, opts)).created;
}
