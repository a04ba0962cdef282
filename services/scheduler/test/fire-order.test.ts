import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { connectedProducer, createTestInfra, eventually, serviceEnv, trackedEvent, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { Campaign, CampaignSettings } from '../src/domain/campaign.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * Two marketing mails for one customer due at the same instant, and room under the frequency cap
 * for one: the one whose trigger is older goes, whichever job's row was written first. (Before,
 * rows due at one instant fired in the order they lay in the table, so a replay of the same
 * events could let the other one through: the demo's runs of one seed differed by that.)
 */

// Both "at 09:00 (UTC, the store's zone)": one three days after the order, one a day after the delivery.
const crossSell = Campaign.parse({ id: 'cross', name: 'Cross-sell', template: 'cross-sell', category: 'marketing', trigger: { event: 'Order Completed' }, delay: { days: 3, at: '09:00' } });
const review = Campaign.parse({ id: 'review', name: 'Review', template: 'review-request', category: 'marketing', trigger: { event: 'Order Delivered' }, delay: { days: 1, at: '09:00' } });

const ordered = new Date('2030-03-01T10:00:00.000Z');
const delivered = new Date('2030-03-03T10:00:00.000Z');
const due = '2030-03-04T09:00:00.000Z';
const clock = simulatedClock(new Date('2030-03-03T11:00:00.000Z'));

let infra: TestInfra;
let runtime: Runtime;
let scheduler: Scheduler;
let producer: Producer;

function track(id: string, customerId: string, event: string, at: Date): LifecycleEvent {
  const properties = event === 'Order Completed' ? { order_id: `o-${customerId}`, total: 42, currency: 'USD', products: [{ name: 'Kettle', price: 42, quantity: 1 }] } : { order_id: `o-${customerId}` };
  return trackedEvent({ id, customerId, event, properties, at, firstName: 'Ada' });
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  scheduler = await startScheduler({ runtime, campaigns: [crossSell, review], settings: CampaignSettings.parse({ storeTimeZone: 'UTC', frequencyCap: { max: 1, per: 'P7D' } }), clock, simulated: clock, pollMs: 60_000 });
  producer = await connectedProducer(infra);
});

afterAll(async () => {
  await Promise.all([producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
});

describe('jobs due at one instant', () => {
  it('fire in a set order: of two marketing mails and room for one, the one with the older trigger goes', async () => {
    const customers = ['tie-1', 'tie-2', 'tie-3', 'tie-4'];
    // The newer trigger's job is written first for every customer.
    for (const customerId of customers) {
      await publish(producer, infra.prefix, 'lifecycleEvents', [track(`${customerId}-delivered`, customerId, 'Order Delivered', delivered)], { at: clock.now() });
      await eventually(async () => {
        const { rows } = await runtime.pool.query('SELECT 1 FROM scheduler.jobs WHERE customer_id = $1', [customerId]);
        expect(rows).toHaveLength(1);
      });
      await publish(producer, infra.prefix, 'lifecycleEvents', [track(`${customerId}-ordered`, customerId, 'Order Completed', ordered)], { at: clock.now() });
    }
    await eventually(async () => {
      const { rows } = await runtime.pool.query<{ due_at: Date }>("SELECT due_at FROM scheduler.jobs WHERE status = 'pending'");
      expect(rows.map((r) => r.due_at.toISOString())).toEqual(customers.flatMap(() => [due, due]));
    });

    const fired = await scheduler.app.inject({ method: 'POST', url: '/admin/clock', payload: { now: '2030-03-04T09:30:00Z' } });
    expect(fired.json()).toMatchObject({ fired: 8 });
    const { rows } = await runtime.pool.query<{ customer_id: string; campaign_id: string; status: string; skip_reason: string | null }>(
      'SELECT customer_id, campaign_id, status, skip_reason FROM scheduler.jobs ORDER BY customer_id, campaign_id',
    );
    expect(rows).toEqual(
      customers.flatMap((customerId) => [
        { customer_id: customerId, campaign_id: 'cross', status: 'sent', skip_reason: null },
        { customer_id: customerId, campaign_id: 'review', status: 'skipped', skip_reason: 'frequency_cap' },
      ]),
    );
  });
});
