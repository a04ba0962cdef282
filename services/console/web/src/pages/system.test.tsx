import { describe, expect, it } from 'vitest';
import { infrastructure, lagByGroupAndTopic, sharedPrefix } from './system.tsx';

describe('the consumer lag an operator scans', () => {
  it('sums a group’s lag on a topic and lists its partitions in order', () => {
    const rows = [
      { groupId: 'demo.lifecycle-scheduler', topic: 'demo.lifecycle.events', partition: 2, lag: 5, committed: '10', high: '15' },
      { groupId: 'demo.lifecycle-scheduler', topic: 'demo.lifecycle.events', partition: 0, lag: 0, committed: '3', high: '3' },
      { groupId: 'demo.lifecycle-classifier', topic: 'demo.lifecycle.events', partition: 0, lag: null, committed: null, high: '7' },
    ];
    const grouped = lagByGroupAndTopic(rows);
    expect(grouped.map((g) => [g.groupId, g.lag, g.partitions.map((p) => p.partition)])).toEqual([
      ['demo.lifecycle-classifier', 0, [0]],
      ['demo.lifecycle-scheduler', 5, [0, 2]],
    ]);
  });

  it('shows the topic prefix once: the part up to a dot every name shares', () => {
    expect(sharedPrefix(['demo.lifecycle-scheduler', 'demo.lifecycle.events'])).toBe('demo.');
    expect(sharedPrefix(['lifecycle-scheduler', 'lifecycle.events'])).toBe('');
    expect(sharedPrefix([])).toBe('');
  });
});

describe('the broker and the database on the system page', () => {
  const service = (name: string, ready: boolean, database: boolean | null, lag: boolean) => ({
    service: name,
    ready,
    checks: database === null ? null : { database, consumers: ready },
    lag: lag ? [] : null,
  });

  it('says the broker answers when a service read its lag, and names the services that cannot reach the database', () => {
    expect(infrastructure([service('ingestion', true, true, true), service('messaging', false, false, false)])).toEqual({ broker: 'answering', database: 'failing', failingDatabase: ['messaging'] });
    expect(infrastructure([service('ingestion', false, true, false)])).toEqual({ broker: 'not answering', database: 'ok', failingDatabase: [] });
    expect(infrastructure([service('ingestion', false, null, false)])).toEqual({ broker: 'unknown', database: 'unknown', failingDatabase: [] });
  });
});
