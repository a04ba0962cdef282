import { describe, expect, it } from 'vitest';
import { minInsyncReplicas, parseTopicSizing, planTopics } from './topic-plan.ts';

const find = (plan: ReturnType<typeof planTopics>, catalogName: string) => {
  const topic = plan.find((t) => t.catalogName === catalogName);
  if (topic === undefined) throw new Error(`no ${catalogName} in the plan`);
  return topic;
};
const config = (topic: { configEntries: { name: string; value: string }[] }, name: string) => topic.configEntries.find((c) => c.name === name)?.value;

describe('planTopics', () => {
  it('on one broker creates every topic with one replica, 3 partitions (dead letters 1) and the broker default min ISR', () => {
    const plan = planTopics('p.', 1);
    expect(find(plan, 'commerce.events')).toMatchObject({ name: 'p.commerce.events', partitions: 3, replicationFactor: 1 });
    expect(find(plan, 'commerce.events.dlq')).toMatchObject({ partitions: 1, replicationFactor: 1 });
    expect(plan.every((t) => config(t, 'min.insync.replicas') === undefined)).toBe(true);
    expect(config(find(plan, 'commerce.events'), 'retention.ms')).toBe(String(7 * 86_400_000));
  });

  it('on three or more brokers replicates every topic three times and needs two in-sync copies per write', () => {
    for (const brokers of [3, 5]) {
      const plan = planTopics('', brokers);
      expect(plan.every((t) => t.replicationFactor === 3 && config(t, 'min.insync.replicas') === '2')).toBe(true);
    }
  });

  it('on two brokers keeps two copies and lets a write through with one of them', () => {
    const plan = planTopics('', 2);
    expect(plan.every((t) => t.replicationFactor === 2 && config(t, 'min.insync.replicas') === undefined)).toBe(true);
  });

  it('takes partitions for all topics but dead letters, and per topic by name, which wins', () => {
    const plan = planTopics('', 3, { partitions: parseTopicSizing('6, lifecycle.events=12, commerce.events.dlq=2') });
    expect(find(plan, 'commerce.events').partitions).toBe(6);
    expect(find(plan, 'lifecycle.events').partitions).toBe(12);
    expect(find(plan, 'lifecycle.events.dlq').partitions).toBe(1);
    expect(find(plan, 'commerce.events.dlq').partitions).toBe(2);
  });

  it('keeps the clock topic compacted, in one partition, whatever the count for all topics', () => {
    const plan = planTopics('', 1, { partitions: parseTopicSizing('6') });
    expect(find(plan, 'system.clock')).toMatchObject({ partitions: 1 });
    expect(config(find(plan, 'system.clock'), 'cleanup.policy')).toBe('compact');
    expect(config(find(plan, 'commerce.events'), 'cleanup.policy')).toBeUndefined();
    expect(plan.some((t) => t.catalogName === 'system.clock.dlq')).toBe(false);
  });

  it('takes a replication factor for all topics, dead letters included, and per topic', () => {
    const plan = planTopics('', 5, { replicationFactor: parseTopicSizing('5,messages.events=3') });
    expect(find(plan, 'commerce.events.dlq')).toMatchObject({ replicationFactor: 5 });
    expect(config(find(plan, 'commerce.events'), 'min.insync.replicas')).toBe('4');
    expect(find(plan, 'messages.events').replicationFactor).toBe(3);
  });

  it('refuses more replicas than brokers, naming the topic and the variable', () => {
    expect(() => planTopics('', 1, { replicationFactor: parseTopicSizing('3') })).toThrow(/commerce\.events asks for 3 replicas but the cluster has 1 broker; lower TOPIC_REPLICATION_FACTOR/);
  });
});

describe('parseTopicSizing', () => {
  it('reads a count for all and counts by name', () => {
    expect(parseTopicSizing(' 6 ,commerce.events = 12')).toEqual({ all: 6, byTopic: { 'commerce.events': 12 } });
  });

  it('names the item that is wrong and why', () => {
    expect(() => parseTopicSizing('0')).toThrow('"0": the count must be a whole number of at least 1');
    expect(() => parseTopicSizing('commerce.events=two')).toThrow(/"commerce.events=two": the count must be a whole number/);
    expect(() => parseTopicSizing('orders=3')).toThrow(/"orders=3": no topic orders in the catalog \(topics: commerce\.events, commerce\.events\.dlq/);
    expect(() => parseTopicSizing('3,4')).toThrow('"4": a count for all topics is given twice');
  });
});

describe('minInsyncReplicas', () => {
  it('is one less than the copies from three copies on, else one', () => {
    expect([1, 2, 3, 4, 5].map(minInsyncReplicas)).toEqual([1, 1, 2, 3, 4]);
  });
});
