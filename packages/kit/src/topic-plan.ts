import { declaredTopics, type DeclaredTopic } from '@lifecycle/contracts';

/**
 * A setting given for all topics and for some by name, as `TOPIC_PARTITIONS` and
 * `TOPIC_REPLICATION_FACTOR` write it: `6`, `commerce.events=12`, or both (`6,commerce.events=12`).
 */
export interface TopicSizing {
  /** For every topic the setting applies to (see `planTopics`). */
  all?: number;
  /** By catalog name, without the prefix (`commerce.events`, `commerce.events.dlq`). */
  byTopic: Record<string, number>;
}

export interface TopicSettings {
  partitions?: TopicSizing;
  replicationFactor?: TopicSizing;
}

export interface PlannedTopic {
  name: string;
  catalogName: string;
  partitions: number;
  replicationFactor: number;
  /** Topic configs set at creation: retention, and `min.insync.replicas` when replicated. */
  configEntries: { name: string; value: string }[];
}

/** Copies of each partition when neither the catalog nor the settings say: three, or as many brokers as there are. */
export function defaultReplicationFactor(brokerCount: number): number {
  return Math.max(1, Math.min(3, brokerCount));
}

/**
 * In-sync replicas a write acknowledged by all (`acks: -1`, what every producer here asks) needs.
 * With 3 copies, 2: an acknowledged record is on two brokers, and the topic still takes writes
 * with one broker down. Below 3 copies, 1 (the broker default): requiring both of 2 copies would
 * stop writes whenever either broker is down.
 */
export function minInsyncReplicas(replicationFactor: number): number {
  return replicationFactor >= 3 ? replicationFactor - 1 : 1;
}

/**
 * Parses `TOPIC_PARTITIONS` / `TOPIC_REPLICATION_FACTOR`: comma-separated items, each a number
 * (for all topics) or `name=number` for one topic of the catalog. Throws an Error saying what is
 * wrong with which item.
 */
export function parseTopicSizing(text: string): TopicSizing {
  const known = new Set(declaredTopics('').map((t) => t.catalogName));
  const sizing: TopicSizing = { byTopic: {} };
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const at = item.lastIndexOf('=');
    const name = at === -1 ? undefined : item.slice(0, at).trim();
    const count = positiveInteger(at === -1 ? item : item.slice(at + 1).trim());
    if (count === undefined) throw new Error(`"${item}": the count must be a whole number of at least 1`);
    if (name === undefined) {
      if (sizing.all !== undefined) throw new Error(`"${item}": a count for all topics is given twice`);
      sizing.all = count;
    } else if (!known.has(name)) {
      throw new Error(`"${item}": no topic ${name} in the catalog (topics: ${[...known].join(', ')})`);
    } else {
      sizing.byTopic[name] = count;
    }
  }
  return sizing;
}

function positiveInteger(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/**
 * Partitions, replication and configs of every declared topic for a cluster of `brokerCount`
 * brokers. Partitions: by name, else the catalog's for a dead-letter topic (1), else the count for
 * all, else the catalog's (3). Replication factor: by name, else the count for all, else the
 * catalog's, else min(3, brokers). Throws when a topic would need more brokers than the cluster has.
 */
export function planTopics(prefix: string, brokerCount: number, settings: TopicSettings = {}): PlannedTopic[] {
  return declaredTopics(prefix).map((topic: DeclaredTopic) => {
    // Dead letters and the clock keep the catalog's count (one): a count for all topics is for the customers' topics.
    const partitions = settings.partitions?.byTopic[topic.catalogName] ?? (topic.deadLetter || topic.compact === true ? topic.partitions : (settings.partitions?.all ?? topic.partitions));
    const replicationFactor =
      settings.replicationFactor?.byTopic[topic.catalogName] ?? settings.replicationFactor?.all ?? topic.replicationFactor ?? defaultReplicationFactor(brokerCount);
    if (replicationFactor > brokerCount) {
      throw new Error(
        `topic ${topic.catalogName} asks for ${replicationFactor} replicas but the cluster has ${brokerCount} broker${brokerCount === 1 ? '' : 's'}; lower TOPIC_REPLICATION_FACTOR or add brokers`,
      );
    }
    const configEntries = [{ name: 'retention.ms', value: String(topic.retentionMs) }];
    if (topic.compact === true) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
    if (replicationFactor >= 3) configEntries.push({ name: 'min.insync.replicas', value: String(minInsyncReplicas(replicationFactor)) });
    return { name: topic.name, catalogName: topic.catalogName, partitions, replicationFactor, configEntries };
  });
}
