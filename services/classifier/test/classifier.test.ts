import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StageChanged, type LifecycleEvent } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { buildClassifier, type Classifier } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

let infra: TestInfra;
let runtime: Runtime;
let service: Classifier;
let producer: Producer;
let changes: Awaited<ReturnType<typeof collectTopic>>;

function order(id: string, customerId: string, at: string): LifecycleEvent {
  return {
    id,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: id,
    payload: {
      call: {
        type: 'track',
        messageId: id,
        timestamp: at,
        userId: customerId,
        event: 'Order Completed',
        properties: { order_id: id, total: 20, currency: 'USD', products: [] },
        context: { traits: { email: 'kim@example.com', first_name: 'Kim' } },
      },
    },
  };
}

beforeAll(async () => {
  infra = await createTestInfra();
  const config = loadConfig({ ...serviceEnv(infra), PORT: '0' });
  runtime = await openRuntime({ service: 'classifier', config, schema: 'lifecycle', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await buildClassifier(runtime);
  producer = await connectedProducer(infra);
  changes = await collectTopic(infra, 'stageChanges');
});

afterAll(async () => {
  await Promise.all([changes?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.app.close();
  await runtime?.close();
});

const stageChangesOf = (customerId: string) =>
  changes.records.filter((r) => r.key === customerId).map((r) => StageChanged.parse(JSON.parse(r.value)).payload);

describe('classifier on a real broker and database', () => {
  it('moves a customer to conversion on the first order, once, even when the event is redelivered', async () => {
    const first = order('e-1', 'kim', '2026-11-01T10:00:00.000Z');
    await publish(producer, infra.prefix, 'lifecycleEvents', [first, first]);
    await eventually(() => expect(stageChangesOf('kim')).toEqual([{ from: null, to: 'conversion', reason: 'first_order', eventId: 'e-1' }]));

    await publish(producer, infra.prefix, 'lifecycleEvents', [order('e-2', 'kim', '2026-11-20T10:00:00.000Z')]);
    await eventually(() => expect(stageChangesOf('kim').map((c) => c.to)).toEqual(['conversion', 'retention']));

    const response = await service.app.inject({ url: '/customers/kim' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      profile: { stage: 'retention', orderCount: 2, email: 'kim@example.com' },
      history: [
        { from: null, to: 'conversion', reason: 'first_order', eventId: 'e-1' },
        { from: 'conversion', to: 'retention', reason: 'repeat_order', eventId: 'e-2' },
      ],
    });
  });

  it('answers 404 for a customer it has never seen', async () => {
    const response = await service.app.inject({ url: '/customers/nobody' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'no customer with id nobody' });
  });
});
