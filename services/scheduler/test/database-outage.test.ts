import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { createPool, openRuntime, publish, type Pool, type Producer, type Runtime } from '@lifecycle/kit';
import { startTcpProxy, type TcpProxy } from '@lifecycle/tools/tcp-proxy';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { loadConfig } from '../src/config.ts';
import { Campaign, CampaignSettings } from '../src/domain/campaign.ts';
import { simulatedClock } from '../src/domain/clock.ts';
import { startScheduler, type Scheduler } from '../src/service.ts';

/**
 * PostgreSQL becomes unreachable for the scheduler (a proxy in front of it is cut) while events
 * arrive: nothing is dead-lettered, the partition waits, and every event is applied once the
 * database is back.
 */

const start = new Date('2027-04-01T09:00:00.000Z');
const thankYou = Campaign.parse({ id: 'post-purchase-thank-you', name: 'Thank you', template: 'post-purchase-thank-you', category: 'transactional', trigger: { event: 'Order Completed' }, delay: 'P1D' });

let infra: TestInfra;
let proxy: TcpProxy;
let runtime: Runtime;
let scheduler: Scheduler;
let producer: Producer;
let direct: Pool;

function order(i: number): LifecycleEvent {
  const id = `outage-${i}`;
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: start.toISOString(),
    customerId: `c-${i}`,
    causationId: id,
    payload: {
      call: {
        type: 'track',
        messageId: id,
        timestamp: start.toISOString(),
        userId: `c-${i}`,
        event: 'Order Completed',
        properties: { order_id: `o-${i}`, total: 10, currency: 'USD', products: [] },
        context: { traits: { email: `c${i}@example.com` } },
      },
    },
  };
}

async function plannedJobs(): Promise<number> {
  // Read through the shared server directly, not the cut proxy.
  const { rows } = await direct.query<{ n: number }>("SELECT count(*)::int AS n FROM scheduler.jobs WHERE trigger_event_id LIKE 'outage-%'");
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  infra = await createTestInfra();
  direct = createPool(infra.databaseUrl, 1);
  const url = new URL(infra.databaseUrl);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  const config = loadConfig({ ...serviceEnv(infra), DATABASE_URL: url.toString(), PORT: '0' });
  runtime = await openRuntime({ service: 'scheduler', config, schema: 'scheduler', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  const clock = simulatedClock(start);
  scheduler = await startScheduler({ runtime, campaigns: [thankYou], settings: CampaignSettings.parse({}), clock, simulated: clock, pollMs: 60_000 });
  producer = await connectedProducer(infra);
});

afterAll(async () => {
  await proxy?.restore();
  await Promise.all([producer?.disconnect(), scheduler?.stop()]);
  await runtime?.close();
  await proxy?.cut();
  await direct?.end();
});

describe('the scheduler while its database is unreachable', () => {
  it('dead-letters nothing and applies every event once the database is back', async () => {
    const deadLetters = await collectTopic(infra, 'lifecycleEvents', { deadLetter: true });
    await publish(producer, infra.prefix, 'lifecycleEvents', [order(1)], { at: start });
    await eventually(async () => expect(await plannedJobs()).toBe(1));

    await proxy.cut();
    await publish(producer, infra.prefix, 'lifecycleEvents', [order(2), order(3), order(4)], { at: start });
    // Long enough for the kit's three attempts and more: before, these went to the DLQ.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(deadLetters.records).toEqual([]);
    expect(await plannedJobs()).toBe(1);

    await proxy.restore();
    await eventually(async () => expect(await plannedJobs()).toBe(4), 60_000, 250);
    expect(deadLetters.records).toEqual([]);
    await deadLetters.stop();
  }, 120_000);
});
