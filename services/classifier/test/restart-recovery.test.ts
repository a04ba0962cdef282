import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { publish, type Producer } from '@lifecycle/kit';
import { spawnServiceProcess, startServiceProcess, type ServiceProcess } from '@lifecycle/tools/service-process';
import { connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';

let infra: TestInfra;
let producer: Producer;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  infra = await createTestInfra();
  producer = await connectedProducer(infra);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await producer?.disconnect();
});

function productViewed(id: string, customerId: string): LifecycleEvent {
  const at = new Date().toISOString();
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: id,
    payload: { call: { type: 'track', messageId: id, timestamp: at, userId: customerId, event: 'Product Viewed', properties: { product_id: 'p-1' } } },
  };
}

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).status;
  } catch {
    return 0;
  }
}

describe('a classifier restarted after SIGKILL', () => {
  it('answers /healthz at once, /readyz once it has rejoined, and consumes again within seconds, not after the old 30 s session', async () => {
    const env = { ...serviceEnv(infra), LOG_LEVEL: 'warn' };
    const first = await startServiceProcess('classifier', env, 90_000);
    processes.push(first);
    await publish(producer, infra.prefix, 'lifecycleEvents', [productViewed('restart-before', 'cust-before')]);
    await eventually(async () => expect(await status(`${first.url}/customers/cust-before`)).toBe(200), 30_000, 100);

    // A crash: its group memberships stay on the broker until their sessions expire.
    await first.kill();
    const restartedAt = Date.now();
    const second = await spawnServiceProcess('classifier', env);
    processes.push(second);
    await publish(producer, infra.prefix, 'lifecycleEvents', [productViewed('restart-after', 'cust-after')]);

    let healthyAt: number | undefined;
    let readyAt: number | undefined;
    let consumedAt: number | undefined;
    let notReadyWhileHealthy = false;
    const deadline = restartedAt + 60_000;
    while (consumedAt === undefined && Date.now() < deadline) {
      if (second.exitCode() !== null) throw new Error(`the restarted classifier exited:\n${second.output()}`);
      const [health, ready, customer] = await Promise.all([
        status(`${second.url}/healthz`),
        status(`${second.url}/readyz`),
        status(`${second.url}/customers/cust-after`),
      ]);
      const now = Date.now();
      if (health === 200) healthyAt ??= now;
      if (health === 200 && ready === 503) notReadyWhileHealthy = true;
      if (ready === 200) readyAt ??= now;
      if (customer === 200) consumedAt = now;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (at: number | undefined): string => (at === undefined ? 'never' : `${((at - restartedAt) / 1000).toFixed(1)} s`);
    console.info(`classifier restart after SIGKILL: healthz ${seconds(healthyAt)}, readyz ${seconds(readyAt)}, consuming ${seconds(consumedAt)}`);

    expect(healthyAt).toBeDefined();
    expect(readyAt).toBeDefined();
    expect(consumedAt).toBeDefined();
    // The old members' 10 s sessions bound the wait; start-up takes the rest.
    expect((consumedAt ?? Infinity) - restartedAt).toBeLessThan(16_000);
    // Alive (for a supervisor's liveness probe) long before the groups have taken it back.
    expect((healthyAt ?? Infinity) - restartedAt).toBeLessThan(8_000);
    expect(notReadyWhileHealthy).toBe(true);
  });
});
