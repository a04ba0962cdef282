import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { createProducer, ensureTopicLayout, type Producer } from '@lifecycle/kit';
import { topicName } from '@lifecycle/contracts';
import { partitionLeaders, startKafkaCluster, type KafkaCluster } from './kafka-broker.ts';
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

  it('loses no acknowledged record of a batch across partitions when a partition leader has just died', { timeout: 240_000 }, async () => {
    // kafkajs 2.2.4 answered such a send from the brokers that had already acknowledged their
    // part, without the moved partition's records (patches/kafkajs@2.2.4.patch); pnpm test:chaos found it.
    await ensureTopicLayout(kafka, 'batch.');
    const topic = topicName('batch.', 'messagesRequested');
    const batchProducer = createProducer(kafka);
    await batchProducer.connect();
    const keys = Array.from({ length: 30 }, (_, i) => `customer-${i}`);
    try {
      await batchProducer.sendBatch({ topicMessages: [{ topic, messages: keys.map((key) => ({ key, value: 'warm-up' })) }], acks: -1 });
      const { leader } = await partitionLeaders(cluster.brokers, topic, 0);
      const node = cluster.nodes.find((n) => n.nodeId === leader);
      if (node === undefined) throw new Error(`no node ${leader}`);
      await node.kill();
      const acknowledged: string[] = [];
      // Through the seconds until the cluster moves the dead node's partitions, and after.
      for (let round = 0; round < 20; round++) {
        const values = keys.map((key) => `${round}:${key}`);
        await batchProducer.sendBatch({ topicMessages: [{ topic, messages: keys.map((key) => ({ key, value: `${round}:${key}` })) }], acks: -1 });
        acknowledged.push(...values);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      await node.start();
      expect(await recordsOn(topic)).toBeGreaterThanOrEqual(keys.length + acknowledged.length);
      const reader = kafka.consumer({ groupId: `batch-check-${Date.now()}` });
      const seen = new Set<string>();
      await reader.connect();
      await reader.subscribe({ topic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void seen.add(message.value?.toString('utf8') ?? '') });
      try {
        await eventually(() => expect(acknowledged.filter((v) => !seen.has(v))).toEqual([]), 60_000, 500);
      } finally {
        await reader.disconnect();
      }
    } finally {
      await batchProducer.disconnect();
    }
  });
});
