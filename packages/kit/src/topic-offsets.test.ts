import { describe, expect, it } from 'vitest';
import { KafkaJSProtocolError, type Admin } from 'kafkajs';
import { topicOffsets } from './topics.ts';

// The broker's answer in the CI run that failed: a topic created a moment before, its leader named
// in the metadata, and ListOffsets refused by that leader.
const notLeader = (): Error => protocolError({ type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true, message: 'This server is not the leader for that topic-partition' });

// kafkajs builds its protocol errors from the broker's error code entry; its typings know only `Error | string`.
function protocolError(entry: { type: string; code: number; retriable: boolean; message: string }): Error {
  return new KafkaJSProtocolError(entry as unknown as Error);
}

function adminAnswering(...answers: (Error | { partition: number; offset: string; low: string; high: string }[])[]): Admin & { calls: number } {
  const fake = {
    calls: 0,
    fetchTopicOffsets: async () => {
      const answer = answers[Math.min(fake.calls++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return fake as unknown as Admin & { calls: number };
}

describe('topicOffsets', () => {
  it('asks again while the broker says it is not yet the leader, and gives the offsets it then answers', async () => {
    const admin = adminAnswering(notLeader(), notLeader(), [{ partition: 0, offset: '3', low: '0', high: '3' }]);
    expect(await topicOffsets(admin, 't')).toEqual([{ partition: 0, low: '0', high: '3' }]);
    expect(admin.calls).toBe(3);
  });

  it('passes on any other error at once', async () => {
    const admin = adminAnswering(protocolError({ type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false, message: 'Not authorized' }));
    await expect(topicOffsets(admin, 't')).rejects.toThrow('Not authorized');
    expect(admin.calls).toBe(1);
  });

  it('gives up with the broker’s error once the time is over', async () => {
    const admin = adminAnswering(notLeader());
    await expect(topicOffsets(admin, 't', 300)).rejects.toThrow('not the leader');
    expect(admin.calls).toBeGreaterThan(1);
  });
});
