import { describe, expect, it } from 'vitest';
import { dueBySteps, replayWindow, walkSteps } from './replay-window.ts';

const now = new Date('2027-03-10T15:30:00.000Z');

describe('the window a what-if replays', () => {
  it('ends at the live clock’s now and starts 28 days earlier by default', () => {
    expect(replayWindow({}, now)).toEqual({ from: new Date('2027-02-10T15:30:00.000Z'), to: now });
  });

  it('starts 28 days before a given --to', () => {
    expect(replayWindow({ to: '2027-01-29T00:00:00Z' }, now)).toEqual({ from: new Date('2027-01-01T00:00:00.000Z'), to: new Date('2027-01-29T00:00:00.000Z') });
  });

  it('answers a --from that is no instant, or not before --to', () => {
    expect(replayWindow({ from: 'yesterday' }, now)).toBe('--from takes an ISO 8601 instant such as 2026-11-01T00:00:00Z, not yesterday');
    expect(replayWindow({ from: '2027-03-11T00:00:00Z' }, now)).toBe('--from (2027-03-11T00:00:00.000Z) must be before --to (2027-03-10T15:30:00.000Z)');
  });
});

describe('the steps of a replay', () => {
  it('walks a day at a time and ends exactly at --to', () => {
    const steps = walkSteps({ from: new Date('2027-01-01T00:00:00Z'), to: new Date('2027-01-03T12:00:00Z') });
    expect(steps.map((s) => s.toISOString())).toEqual(['2027-01-02T00:00:00.000Z', '2027-01-03T00:00:00.000Z', '2027-01-03T12:00:00.000Z']);
  });

  it('adds a step just before each given instant inside the window', () => {
    const window = { from: new Date('2027-01-01T00:00:00Z'), to: new Date('2027-01-03T00:00:00Z') };
    const steps = walkSteps(window, 86_400_000, [Date.parse('2027-01-01T12:00:00Z'), Date.parse('2027-01-02T00:00:00.001Z'), Date.parse('2026-12-31T00:00:00Z'), Date.parse('2027-01-05T00:00:00Z')]);
    expect(steps.map((s) => s.toISOString())).toEqual(['2027-01-01T11:59:59.999Z', '2027-01-02T00:00:00.000Z', '2027-01-03T00:00:00.000Z']);
  });

  it('puts each record into the first step at or after it, earlier ones into the first, later ones nowhere', () => {
    const steps = [new Date(10), new Date(20), new Date(30)];
    expect(dueBySteps([25, 3, 10, 11, 31, 20, 30], (n) => n, steps)).toEqual([[3, 10], [11, 20], [25, 30]]);
  });
});
