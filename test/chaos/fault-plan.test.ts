import { describe, expect, it } from 'vitest';
import { planFaults } from './fault-plan.ts';

const services = ['ingestion', 'classifier', 'scheduler', 'messaging'];

describe('the chaos fault plan', () => {
  it('kills each service in turn and then the broker, evenly over the run', () => {
    const plan = planFaults({ durationMs: 120_000, services, serviceDownMs: 2_000, brokerTopic: 'commerce.events', brokerDownMs: 10_000, databaseCutMs: 0, settleMs: 10_000 });
    expect(plan.map((f) => [f.kind, f.target, f.atMs])).toEqual([
      ['service', 'ingestion', 20_000],
      ['service', 'classifier', 40_000],
      ['service', 'scheduler', 60_000],
      ['service', 'messaging', 80_000],
      ['broker', 'commerce.events', 100_000],
    ]);
    expect(plan.at(-1)?.downMs).toBe(10_000);
  });

  it('cuts the database in the middle and starts the next fault only once it is back and settled', () => {
    const plan = planFaults({ durationMs: 120_000, services, serviceDownMs: 2_000, brokerTopic: 'commerce.events', brokerDownMs: 10_000, databaseCutMs: 20_000, settleMs: 10_000 });
    expect(plan.map((f) => f.target)).toEqual(['ingestion', 'classifier', 'postgresql', 'scheduler', 'messaging', 'commerce.events']);
    const cut = plan[2];
    const next = plan[3];
    expect(cut).toMatchObject({ kind: 'database', downMs: 20_000 });
    expect(next?.atMs).toBe((cut?.atMs ?? 0) + 20_000 + 10_000);
    for (let i = 1; i < plan.length; i++) expect(plan[i]?.atMs).toBeGreaterThan(plan[i - 1]?.atMs ?? 0);
  });
});
