import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { createProducer, ensureTopicLayout, type Producer } from '@lifecycle/kit';
import { topicName } from '@lifecycle/contracts';
import { startKafkaCluster, type KafkaCluster } from './kafka-broker.ts';
import { freePort } from './service-process.ts';
import { eventually } from './test-kit.ts';

/**
 * The local cluster `./lifecycle start --brokers 3` runs, started the way a chaos test would
 * (its own ports and folder), and what the topics on it get.
 */
let dataRoot: string;
let cluster: KafkaCluster;
let kafka: Kafka;
let producer: Producer | undefined;

beforeAll(async () => {
  dataRoot = mkdtempSync(join(tmpdir(), 'kafka-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) ports.push(await freePort());
  const nodes = [1, 2, 3].map((nodeId, i) => ({ nodeId, brokerPort: ports[2 * i] ?? 0, controllerPort: ports[2 * i + 1] ?? 0 }));
  cluster = await startKafkaCluster({ nodes, dataRoot, log: () => {}, timeoutMs: 150_000 });
  kafka = new Kafka({ clientId: 'cluster-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
}, 240_000);

afterAll(async () => {
  await producer?.disconnect();
  await cluster?.stop();
  rmSync(dataRoot, { recursive: true, force: true });
}, 120_000);

async function recordsOn(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('a local three-node cluster', () => {
  it('replicates the topics three times with two in-sync copies per write, and keeps taking writes with a node killed', { timeout: 240_000 }, async () => {
    const layout = await ensureTopicLayout(kafka, 'chaos.');
    expect(layout.brokerCount).toBe(3);
    const topic = topicName('chaos.', 'commerceEvents');

    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic, `${topic}.dlq`] });
      expect(topics.flatMap((t) => t.partitions.map((p) => p.replicas.length))).toEqual([3, 3, 3, 3]);
      // A node that has not yet learnt of the new topic answers "does not host": ask again.
      await eventually(async () => {
        const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }] });
        expect(resources[0]?.configEntries[0]?.configValue).toBe('2');
      }, 30_000, 500);
    } finally {
      await admin.disconnect();
    }

    producer = createProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'customer-1', value: 'before' }] });

    const second = cluster.nodes[1];
    if (second === undefined) throw new Error('no second node');
    await second.kill();
    expect(second.running()).toBe(false);
    // acks -1 with two of three copies in sync: the write is taken once leadership has moved.
    // A send refused by the dead node before the client learns the new leader is tried again,
    // as any client would; a refused connection wrote nothing.
    const sender = producer;
    await eventually(() => sender.send({ topic, messages: [{ key: 'customer-1', value: 'after' }] }), 60_000, 1_000);
    // The admin's view of the partition leaders catches up with the move in a moment.
    await eventually(async () => expect(await recordsOn(topic)).toBe(2), 30_000, 500);

    await second.start();
    expect(second.running()).toBe(true);
    const check = kafka.admin();
    await check.connect();
    try {
      // The restarted node registers with the controllers a moment after its port answers.
      await eventually(async () => expect((await check.describeCluster()).brokers).toHaveLength(3), 60_000, 1_000);
    } finally {
      await check.disconnect();
    }
  });
});
