import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageChanged, Stage } from '@lifecycle/contracts';
import { createLogger, openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadCampaigns } from '../src/campaign-files.ts';
import { loadConfig } from '../src/config.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * Stage changes arrive in bursts (the classifier emits one for most events of a new customer)
 * and are taken a partition's batch at a time: each change still counts once, in offset order.
 */

const T0 = new Date('2027-04-05T08:00:00.000Z');
let infra: TestInfra;
let runtime: Runtime;
let producer: Producer;
let scheduler: Scheduler;

function change(id: string, customerId: string, from: Stage, to: Stage, historical = false): StageChanged {
  return { id, type: 'stage.changed', version: 1, occurredAt: T0.toISOString(), customerId, causationId: id, payload: { from, to, reason: 'test', eventId: id, historical } };
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle'), logger: createLogger('scheduler', 'warn') });
  producer = await connectedProducer(infra);
  const shipped = await loadCampaigns(join(import.meta.dirname, '..', '..', '..', 'campaigns'));
  const clock = simulatedClock(T0);
  scheduler = await startScheduler({ runtime, ...shipped, clock, simulated: clock, pollMs: 60_000 });
}, 60_000);

afterAll(async () => {
  await Promise.all([producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

describe('stage changes taken a batch at a time', () => {
  it('plans each customer’s win-back once, keeps the latest stage, skips redeliveries and historical changes', async () => {
    // One customer key, so one partition: the records reach the consumer together, in this order.
    const burst = [
      change('s-1', 'ann', 'retention', 'at_risk'),
      change('s-1', 'ann', 'retention', 'at_risk'), // the same record delivered twice
      change('s-2', 'ann', 'at_risk', 'lapsed'),
      change('s-3', 'ann', 'lapsed', 'at_risk'), // at risk again: a new entry (the campaign re-enters per trigger)
    ];
    const others = [change('s-4', 'bob', 'retention', 'at_risk'), change('s-5', 'old', 'retention', 'at_risk', true)];
    await publish(producer, infra.prefix, 'stageChanges', [...burst, ...others], { at: T0 });
    await eventually(async () => {
      const { rows } = await runtime.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM scheduler.processed_events WHERE event_id LIKE 's-%'");
      expect(rows[0]?.n).toBe(5);
    });
    const { rows: jobs } = await runtime.pool.query<{ customer_id: string; campaign_id: string; trigger_event_id: string }>(
      "SELECT customer_id, campaign_id, trigger_event_id FROM scheduler.jobs WHERE campaign_id LIKE 'win-back%' ORDER BY customer_id, campaign_id, trigger_event_id",
    );
    expect(jobs).toEqual([
      { customer_id: 'ann', campaign_id: 'win-back-at-risk', trigger_event_id: 's-1' },
      { customer_id: 'ann', campaign_id: 'win-back-at-risk', trigger_event_id: 's-3' },
      { customer_id: 'ann', campaign_id: 'win-back-lapsed', trigger_event_id: 's-2' },
      { customer_id: 'bob', campaign_id: 'win-back-at-risk', trigger_event_id: 's-4' },
    ]);
    const { rows: stages } = await runtime.pool.query<{ customer_id: string; stage: string }>('SELECT customer_id, stage FROM scheduler.contacts ORDER BY customer_id');
    expect(stages).toEqual([
      { customer_id: 'ann', stage: 'at_risk' },
      { customer_id: 'bob', stage: 'at_risk' },
      { customer_id: 'old', stage: 'at_risk' },
    ]);
  });
});
