import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '@lifecycle/contracts';
import { createTestInfra, type TestInfra } from '@lifecycle/tools/test-kit';
import { createGroupConsumer, GROUP_SESSION_TIMEOUT_MS } from '../src/index.ts';

let infra: TestInfra;

beforeAll(async () => {
  infra = await createTestInfra();
});

/**
 * A member of the group in a process of its own, killed with SIGKILL once it has joined: it never
 * leaves, and the broker keeps it until its session (the kit's, 10 s) ends.
 */
async function leaveDeadMember(groupId: string, topic: string): Promise<void> {
  const script = `
    import { Kafka, logLevel } from 'kafkajs';
    const kafka = new Kafka({ clientId: 'dead-member', brokers: ${JSON.stringify(infra.brokers)}, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: ${JSON.stringify(groupId)}, sessionTimeout: ${GROUP_SESSION_TIMEOUT_MS}, heartbeatInterval: 1000 });
    consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('joined\\n'));
    await consumer.connect();
    await consumer.subscribe({ topic: ${JSON.stringify(topic)}, fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('joined')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the member exited with ${code} before joining`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function groupMembers(groupId: string): Promise<{ state: string; members: number }> {
  const admin = infra.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return { state: groups[0]?.state ?? 'unknown', members: groups[0]?.members.length ?? -1 };
  } finally {
    await admin.disconnect();
  }
}

describe('a group consumer started while a crashed member still holds the group', () => {
  it('returns from run at once, not joined yet; stopped during the wait, it leaves no member behind once the wait ends', { timeout: 90_000 }, async () => {
    const groupId = `${infra.prefix}restart-during-join`;
    const topic = topicName(infra.prefix, 'timersFired');
    await leaveDeadMember(groupId, topic);
    const sessionEnds = Date.now() + GROUP_SESSION_TIMEOUT_MS;
    expect((await groupMembers(groupId)).members).toBe(1);

    const { consumer, joined } = createGroupConsumer(infra.kafka, groupId);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const started = Date.now();
    await consumer.run({ eachMessage: async () => {} });
    // A service listens right after this: its /healthz answers while the group still waits.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(joined()).toBe(false);

    const stopping = Date.now();
    await consumer.disconnect();
    // It waited for the join to end, bounded by the dead member's session, and then left (after
    // its first fetch, a long poll of up to 5 s, came back).
    expect(Date.now() - stopping).toBeLessThan(GROUP_SESSION_TIMEOUT_MS + 7_000);
    // Well after the dead member's session ended (and a join with it), nothing of this consumer is
    // in the group: kafkajs finishing the join after a disconnect would leave a member consuming
    // on its own.
    await new Promise((r) => setTimeout(r, Math.max(0, sessionEnds + 4_000 - Date.now())));
    expect(await groupMembers(groupId)).toEqual({ state: 'Empty', members: 0 });
  });
});
