import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { topics, topicName, type TopicKey, type TopicValue } from '@lifecycle/contracts';

/**
 * Follows one of the stack's topics from now on, as the demo watches the system's answers: a
 * consumer group of its own (nothing committed is shared with the services), joined before this
 * resolves so nothing published after it is missed. A record its contract does not parse is
 * skipped: the topic's contract is its producer's to enforce, and it is nothing for the demo.
 */
export async function followTopic<K extends TopicKey>(o: { brokers: string[]; topicPrefix: string; topic: K; clientId: string; onRecord: (value: TopicValue<K>) => void }): Promise<{ stop: () => Promise<void> }> {
  const kafka = new Kafka({ clientId: o.clientId, brokers: o.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${o.topicPrefix}${o.clientId}-${randomUUID()}` });
  const schema = topics[o.topic].schema;
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(o.topicPrefix, o.topic), fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ message }) => {
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
  return { stop: () => consumer.disconnect() };
}
