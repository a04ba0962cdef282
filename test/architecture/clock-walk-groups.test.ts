import { describe, expect, it } from 'vitest';
import { classifierGroups } from '../../services/classifier/src/rebuild.ts';
import { ingestionConsumerGroup } from '../../services/ingestion/src/app.ts';
import { schedulerConsumerGroups } from '../../services/scheduler/src/app.ts';
import { messagingConsumerGroups } from '../../services/messaging/src/app.ts';
import { decisionGroups, firingGroups, messagingGroups } from '../../tools/src/timeline/clock-walk.ts';

describe('the groups a walk waits for', () => {
  it('are every consumer group of ingestion, the classifier and the scheduler, with its topic', () => {
    const services = [ingestionConsumerGroup, ...classifierGroups, ...schedulerConsumerGroups].map((g) => `${g.groupId} ${g.topic}`).sort();
    expect(decisionGroups.map((g) => `${g.groupId} ${g.topic}`).sort()).toEqual(services);
  });

  it('after a firing, some of them: none of messaging’s, and each one the services have', () => {
    const decision = new Set(decisionGroups.map((g) => `${g.groupId} ${g.topic}`));
    expect(firingGroups.filter((g) => !decision.has(`${g.groupId} ${g.topic}`))).toEqual([]);
    expect(firingGroups.map((g) => g.topic)).toEqual(expect.arrayContaining(['timersFired', 'stageChanges']));
    // A scheduler group among them: the wait after a firing then also waits for the scheduler's
    // outbox, which holds the mail requests the firing made.
    expect(firingGroups.some((g) => g.groupId.startsWith('lifecycle-scheduler'))).toBe(true);
  });

  it('and messaging’s, for a walk that waits for the mail to go out', () => {
    expect(messagingGroups.map((g) => `${g.groupId} ${g.topic}`).sort()).toEqual(Object.values(messagingConsumerGroups).map((g) => `${g.groupId} ${g.topic}`).sort());
  });
});
