import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { topics, topicName, type TopicKey, type TopicValue } from '@lifecycle/contracts';

export interface FollowedTopic {
  /** Resolves once every record published before the call has been handed to `onRecord`. */
  readToEnd: (timeoutMs?: number) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * Follows one of the stack's topics from now on, as the demo watches the system's answers: a
 * consumer group of its own (nothing committed is shared with the services), joined before this
 * resolves so nothing published after it is missed. A record its contract does not parse is
 * skipped: the topic's contract is its producer's to enforce, and it is nothing for the demo.
 */
export async function followTopic<K extends TopicKey>(o: { brokers: string[]; topicPrefix: string; topic: K; clientId: string; onRecord: (value: TopicValue<K>) => void }): Promise<FollowedTopic> {
  const kafka = new Kafka({ clientId: o.clientId, brokers: o.brokers, logLevel: logLevel.NOTHING });
  const topic = topicName(o.topicPrefix, o.topic);
  const consumer = kafka.consumer({ groupId: `${o.topicPrefix}${o.clientId}-${randomUUID()}` });
  const admin = kafka.admin();
  const schema = topics[o.topic].schema;
  /** The next offset to read, per partition. */
  const read = new Map<number, number>();
  await Promise.all([consumer.connect(), admin.connect()]);
  await consumer.subscribe({ topic, fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      read.set(partition, Number(message.offset) + 1);
      let value: unknown = null;
      try {
        value = JSON.parse(message.value?.toString('utf8') ?? 'null');
      } catch {
        return;
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) o.onRecord(parsed.data);
    },
  });
  await joined;
  // What the topic held before is not followed: reading starts at its end as of now.
  for (const { partition, high } of await admin.fetchTopicOffsets(topic)) if (!read.has(partition)) read.set(partition, Number(high));
  return {
    readToEnd: async (timeoutMs = 60_000) => {
      const ends = await admin.fetchTopicOffsets(topic);
      const deadline = Date.now() + timeoutMs;
      while (ends.some(({ partition, high }) => (read.get(partition) ?? 0) < Number(high))) {
        if (Date.now() > deadline) throw new Error(`could not read ${topic} up to its end within ${Math.round(timeoutMs / 1000)} s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    stop: async () => {
      await Promise.all([consumer.disconnect(), admin.disconnect()]);
    },
  };
}
