import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@lifecycle/contracts';
import { openRuntime, type FastifyInstance, type Runtime } from '@lifecycle/kit';
import { createTestInfra, serviceEnv } from '@lifecycle/tools/test-kit';
import { createClassifierApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { applyEvent, emptyProfile, type Profile } from '../src/domain/profile.ts';
import { saveProfiles } from '../src/profile-repository.ts';
import { recomputeRfm } from '../src/rfm-recompute.ts';

const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
const day = (n: number): string => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();
const now = day(30);

let runtime: Runtime;
let app: FastifyInstance;

/** An order as it reaches the classifier: major units in properties, the checked currency and minor units from ingestion. */
function order(customerId: string, orderId: string, at: string, total: number, currency: string, minorUnits: number): LifecycleEvent {
  return {
    id: orderId,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: orderId,
    payload: {
      call: {
        type: 'track',
        messageId: orderId,
        timestamp: at,
        userId: customerId,
        event: 'Order Completed',
        properties: { order_id: orderId, total, currency, products: [] },
        normalized: { timestampOffset: 'Z', money: { currency: currency.trim().toUpperCase(), amounts: { total: minorUnits } } },
      },
    },
  };
}

const profileOf = (customerId: string, events: LifecycleEvent[]): Profile => events.reduce(applyEvent, emptyProfile(customerId, day(0)));
const customer = async (id: string) => (await app.inject({ url: `/customers/${id}` })).json();

beforeAll(async () => {
  const infra = await createTestInfra();
  runtime = await openRuntime({ service: 'classifier', config: loadConfig({ ...serviceEnv(infra), PORT: '0' }), schema: 'classifier', migrationsFolder });
  // The HTTP app alone: no consumer runs, the profiles are written directly.
  app = createClassifierApp({ runtime, readiness: {} });
  const profiles = [
    // A store selling in EUR and JPY, the currency as clients spell it.
    profileOf('eur-small', [order('eur-small', 'o1', day(1), 40, 'EUR', 4_000)]),
    profileOf('eur-big', [order('eur-big', 'o2', day(1), 400, 'eur', 40_000)]),
    profileOf('jpy-small', [order('jpy-small', 'o3', day(1), 5_000, ' jpy', 5_000)]),
    profileOf('jpy-big', [order('jpy-big', 'o4', day(1), 50_000, 'JPY', 50_000)]),
    // Mostly a JPY customer: two yen orders, one euro order.
    profileOf('both', [order('both', 'o5', day(2), 3_000, 'JPY', 3_000), order('both', 'o6', day(3), 3_000, 'JPY', 3_000), order('both', 'o7', day(4), 100, 'EUR', 10_000)]),
    // €0.10 + €0.20 is exactly €0.30.
    profileOf('dimes', [order('dimes', 'o8', day(1), 0.1, 'GBP', 10), order('dimes', 'o9', day(1), 0.2, 'GBP', 20)]),
    profileOf('thirty', [order('thirty', 'o10', day(1), 0.3, 'GBP', 30), order('thirty', 'o11', day(1), 0, 'GBP', 0)]),
  ];
  await runtime.db.transaction((tx) => saveProfiles(tx, profiles));
});

afterAll(async () => {
  await app?.close();
  await runtime?.close();
});

describe('RFM recompute in a store selling in several currencies', () => {
  it('ranks monetary within each currency and keeps revenue per currency in the profile', async () => {
    expect(await recomputeRfm(runtime.pool, now)).toBe(7);
    const jpySmall = await customer('jpy-small');
    expect(jpySmall.profile).toMatchObject({ revenue: { JPY: 5_000 }, averageOrderValue: { JPY: 5_000 } });
    // ¥5,000 (about €31) is the smallest of three JPY customers, not a bigger spender than €40.
    expect(jpySmall.rfm).toMatchObject({ monetary: 2, monetaryCurrency: 'JPY' });
    expect((await customer('eur-small')).rfm).toMatchObject({ monetary: 3, monetaryCurrency: 'EUR' });
    // Ranked in JPY, its main currency, among three JPY customers.
    const both = await customer('both');
    expect(both.profile.revenue).toEqual({ JPY: 6_000, EUR: 100 });
    expect(both.rfm).toMatchObject({ monetary: 4, monetaryCurrency: 'JPY', frequency: 5 });
    expect((await customer('jpy-big')).rfm).toMatchObject({ monetary: 5, monetaryCurrency: 'JPY' });
  });

  it('adds decimal totals exactly, so equal spend scores equally', async () => {
    await recomputeRfm(runtime.pool, now);
    expect((await customer('dimes')).rfm.monetary).toBe((await customer('thirty')).rfm.monetary);
  });

  it('ranks everyone in the base currency once rates say how', async () => {
    await recomputeRfm(runtime.pool, now, { base: 'EUR', rates: { JPY: 0.0062 } });
    // In EUR: 31 (jpy-small), 40, 100 + 37.2 (both), 310 (jpy-big), 400.
    const scores = Object.fromEntries(
      await Promise.all(['jpy-small', 'eur-small', 'both', 'jpy-big', 'eur-big'].map(async (id) => [id, (await customer(id)).rfm] as const)),
    );
    expect(scores).toMatchObject({
      'jpy-small': { monetary: 1, monetaryCurrency: 'EUR' },
      'eur-small': { monetary: 2, monetaryCurrency: 'EUR' },
      both: { monetary: 3, monetaryCurrency: 'EUR' },
      'jpy-big': { monetary: 4, monetaryCurrency: 'EUR' },
      'eur-big': { monetary: 5, monetaryCurrency: 'EUR' },
    });
    // GBP has no rate: still ranked on its own.
    expect((await customer('dimes')).rfm.monetaryCurrency).toBe('GBP');
  });
});
