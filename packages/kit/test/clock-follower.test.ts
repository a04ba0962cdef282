import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockSet, topicName } from '@lifecycle/contracts';
import { connectedProducer, createTestInfra, type TestInfra } from '@lifecycle/tools/test-kit';
import { createLogger, followClock, publish, type FollowedClock, type Producer } from '../src/index.ts';

/**
 * The simulated clock as the services other than the scheduler see it: the latest instant on the
 * compacted `system.clock` topic, read before the service starts and followed after.
 */

let infra: TestInfra;
let producer: Producer;
const followers: FollowedClock[] = [];
// Instants relative to now: nothing here depends on the date the test runs.
const base = Date.now() + 30 * 86_400_000;
const at = (days: number) => new Date(base + days * 86_400_000);

function follower(start = new Date(base - 86_400_000)): FollowedClock {
  const clock = followClock({ kafka: infra.kafka, prefix: infra.prefix, logger: createLogger('test', 'silent'), start });
  followers.push(clock);
  return clock;
}

beforeAll(async () => {
  infra = await createTestInfra();
  producer = await connectedProducer(infra);
});

afterAll(async () => {
  await Promise.all(followers.map((f) => f.stop()));
  await producer?.disconnect();
});

describe('following the simulated clock', () => {
  it('says the start instant while nothing was published, and starts at once', async () => {
    const start = at(-5);
    const clock = follower(start);
    await clock.start();
    expect(clock.ready?.()).toBe(true);
    expect(clock.now()).toEqual(start);
  });

  it('starts at the latest instant published before it started, even one before its start instant, and follows later moves', async () => {
    await publish(producer, infra.prefix, 'clock', [clockSet(at(1), 'test'), clockSet(at(3), 'test')]);
    const clock = follower(at(300));
    await clock.start();
    expect(clock.now()).toEqual(at(3));

    await publish(producer, infra.prefix, 'clock', [clockSet(at(10), 'test')]);
    await clock.reached(at(10));
    expect(clock.now()).toEqual(at(10));
  });

  it('never runs backwards, and ignores a record that is not a clock record', async () => {
    const clock = follower();
    await clock.start();
    expect(clock.now()).toEqual(at(10));
    await producer.send({ topic: topicName(infra.prefix, 'clock'), messages: [{ key: 'clock', value: 'not json' }, { key: 'clock', value: JSON.stringify({ now: 'soon' }) }] });
    await publish(producer, infra.prefix, 'clock', [clockSet(at(2), 'an old record'), clockSet(at(12), 'test')]);
    await clock.reached(at(12));
    expect(clock.now()).toEqual(at(12));
  });

  it('says how far it got when an instant is not reached in time', async () => {
    const clock = follower();
    await clock.start();
    await expect(clock.reached(at(400), 300)).rejects.toThrow(`the clock did not reach ${at(400).toISOString()} within 300 ms (it is at ${at(12).toISOString()})`);
  });
});
