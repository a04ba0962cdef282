import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent, MessageRequested } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid } from '@lifecycle/tools/fake-sendgrid';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { couponsExportCommand, couponsImportCommand, couponsStatusCommand } from '../src/coupon-commands.ts';
import { loadConfig } from '../src/config.ts';
import { createCouponsRepository } from '../src/db/coupons-repository.ts';
import { coupons, sends } from '../src/db/schema.ts';
import { verifyCode } from '../src/domain/coupon-code.ts';
import { startMessaging, type Messaging } from '../src/service.ts';
import { statusEvents, thankYouRequest } from './message-requests.ts';

const COUPON_SECRET = 'test-coupon-secret-0123456789abcdefghij';
const GIFT = { prefix: 'GIFT-', length: 8 };
const dir = mkdtempSync(join(tmpdir(), 'coupons-'));
const couponsFile = join(dir, '_coupons.yaml');
writeFileSync(
  couponsFile,
  `pools:
  gift: { kind: generated, prefix: "GIFT-", length: 8 }
  shop: { kind: imported, lowWater: 5 }
  empty: { kind: imported }
`,
);

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  env = { ...serviceEnv(infra), PORT: '0', SENDGRID_API_KEY: 'SG.test-key', SENDGRID_BASE_URL: sendgrid.url, SENDGRID_SENDS_PER_SECOND: '1000', COUPON_SECRET, COUPONS_FILE: couponsFile };
  const config = loadConfig(env);
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50 });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
});

afterAll(async () => {
  await Promise.all([events?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  await sendgrid?.close();
});

function offerRequest(n: string, pool: string, campaignId = 'birthday'): MessageRequested {
  const base = thankYouRequest(`coupon-${n}`, { campaignId, variant: 'a' });
  return { ...base, payload: { ...base.payload, dedupeKey: `${campaignId}:${base.customerId}:${n}`, offer: { pool, expiresInDays: 30, percent: 15 } } };
}

async function request(...values: MessageRequested[]): Promise<void> {
  await publish(producer, infra.prefix, 'messagesRequested', values);
}

function posts(dedupeKey: string): number {
  return sendgrid.requests.filter((r) => SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey === dedupeKey).length;
}

async function finalStatus(dedupeKey: string): Promise<string[]> {
  return eventually(() => {
    const statuses = statusEvents(events.records, dedupeKey).map((e) => e.payload.status);
    expect(statuses.length).toBeGreaterThan(0);
    return statuses;
  }, 30_000);
}

async function codeOf(dedupeKey: string): Promise<string[]> {
  return (await runtime.db.select({ code: coupons.code }).from(coupons).where(eq(coupons.dedupeKey, dedupeKey))).map((r) => r.code);
}

function orderCompleted(n: string, customerId: string, coupon: string, amountMinor: number, currency: string): LifecycleEvent {
  const at = new Date().toISOString();
  return {
    id: `lifecycle-event:order-${n}`,
    type: 'commerce.event',
    version: 1,
    occurredAt: at,
    customerId,
    causationId: `seg-order-${n}`,
    payload: {
      call: {
        type: 'track',
        event: 'Order Completed',
        messageId: `seg-order-${n}`,
        timestamp: at,
        userId: customerId,
        properties: { order_id: `order-${n}`, total: amountMinor / 100, currency, coupon: `${coupon.toLowerCase()}, WELCOME` },
        normalized: { timestampOffset: 'Z', orderValue: { amountMinor, currency } },
      },
    },
  };
}

function cli(): { say: (text: string) => void; lines: string[]; ctx: { say: (text: string) => void; env: Record<string, string | undefined> } } {
  const lines: string[] = [];
  const say = (text: string): void => void lines.push(text);
  return { say, lines, ctx: { say, env } };
}

describe('coupon codes in the send path', () => {
  it('gives two customers different codes of a generated pool, each verifying with the secret', async () => {
    const [a, b] = [offerRequest('one', 'gift'), offerRequest('two', 'gift')];
    if (a === undefined || b === undefined) throw new Error('unreachable');
    await request(a, b);
    expect(await finalStatus(a.payload.dedupeKey)).toEqual(['sent']);
    expect(await finalStatus(b.payload.dedupeKey)).toEqual(['sent']);
    const [codeA] = await codeOf(a.payload.dedupeKey);
    const [codeB] = await codeOf(b.payload.dedupeKey);
    expect(codeA).toMatch(/^GIFT-[0-9A-Z]{10}$/);
    expect(codeB).not.toBe(codeA);
    expect(verifyCode(codeA ?? '', GIFT, COUPON_SECRET)).toEqual({ ok: true });
    expect(verifyCode(codeB ?? '', GIFT, COUPON_SECRET)).toEqual({ ok: true });
    const [row] = await runtime.db.select().from(coupons).where(eq(coupons.dedupeKey, a.payload.dedupeKey));
    expect(row).toMatchObject({ pool: 'gift', customerId: a.customerId, campaignId: 'birthday', variant: 'a' });
    expect(row?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it('re-uses the code an earlier attempt took when the request is redelivered, and sends once', async () => {
    const req = offerRequest('redelivered', 'gift');
    const key = req.payload.dedupeKey;
    // An earlier attempt claimed the key and took a code, then stopped before calling SendGrid.
    const earlier = new Date(Date.now() - 60_000);
    await runtime.db.insert(sends).values({ dedupeKey: key, status: 'claimed', messageId: req.id, customerId: req.customerId, campaignId: 'birthday', templateId: req.payload.templateId, claimToken: 'earlier-attempt', claimedAt: earlier, updatedAt: earlier });
    const taken = await createCouponsRepository({ db: runtime.db, pool: runtime.pool }).assign(
      { dedupeKey: key, customerId: req.customerId, campaignId: 'birthday', variant: 'a', pool: 'gift', config: { kind: 'generated', ...GIFT }, expiresAt: new Date(Date.now() + 86_400_000), now: earlier },
      COUPON_SECRET,
    );
    if (taken.kind !== 'issued') throw new Error('no code taken');
    await request(req, req);
    // The second copy (a redelivery in the same chunk) is handled after the first has its outcome: nothing more goes out.
    expect(await finalStatus(key)).toEqual(['sent']);
    expect(await codeOf(key)).toEqual([taken.code]);
    expect(posts(key)).toBe(1);
  });

  it('sends no mail when the imported pool is empty, and reports skipped with reason no_coupon', async () => {
    const req = offerRequest('empty', 'empty');
    await request(req);
    expect(await finalStatus(req.payload.dedupeKey)).toEqual(['skipped']);
    const [event] = statusEvents(events.records, req.payload.dedupeKey);
    expect(event?.payload).toMatchObject({ status: 'skipped', reason: 'no_coupon' });
    expect(posts(req.payload.dedupeKey)).toBe(0);
    expect(await codeOf(req.payload.dedupeKey)).toEqual([]);
  });
});

describe('imported pools', () => {
  it('imports a Shopify export, hands its codes out once each, skips when they run out, and exports them', async () => {
    const csv = join(dir, 'shopify.csv');
    writeFileSync(csv, 'Discount Id,Code,Usage Count\n11,SHOP-AAA,0\n12,shop-bbb,0\n12,SHOP-AAA,0\n');
    const imported = cli();
    expect(await couponsImportCommand(['shop', csv], imported.ctx)).toBe(0);
    expect(imported.lines.join('\n')).toContain('imported 2 codes into shop (1 repeated in the file); 2 available');

    const reqs = ['s1', 's2', 's3'].map((n) => offerRequest(n, 'shop', 'win-back-at-risk'));
    for (const r of reqs) await request(r);
    const statuses = await Promise.all(reqs.map(async (r) => (await finalStatus(r.payload.dedupeKey))[0]));
    expect(statuses.sort()).toEqual(['sent', 'sent', 'skipped']);
    const given = (await Promise.all(reqs.map((r) => codeOf(r.payload.dedupeKey)))).flat().sort();
    expect(given).toEqual(['SHOP-AAA', 'SHOP-BBB']);

    const status = cli();
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      // Below its lowWater of 5: exit 1, the pool shown as low.
      expect(await couponsStatusCommand([], status.ctx)).toBe(1);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toContain('shop  imported  available 0  issued 2  redeemed 0  LOW');

    const file = join(dir, 'export.csv');
    expect(await couponsExportCommand(['shop', file], cli().ctx)).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('code,issued_at,expires_at,campaign_id,redeemed_at');
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(['SHOP-AAA', 'SHOP-BBB']);
    for (const line of lines.slice(1)) expect(line).toMatch(/^SHOP-[AB]{3},\d{4}-\d\d-\d\dT[^,]+Z,\d{4}-[^,]+Z,win-back-at-risk,$/);
  });
});

describe('redemption', () => {
  it('counts an order with the code in /coupons/stats, a redelivered order once, and a second order as redeemed more than once', async () => {
    const req = offerRequest('redeemed', 'gift', 'first-order-anniversary');
    await request(req);
    expect(await finalStatus(req.payload.dedupeKey)).toEqual(['sent']);
    const [code] = await codeOf(req.payload.dedupeKey);
    if (code === undefined) throw new Error('no code');
    const first = orderCompleted('r1', req.customerId, code, 5_000, 'USD');
    await publish(producer, infra.prefix, 'lifecycleEvents', [first, first]);
    const stats = async (): Promise<unknown> => (await service.app.inject({ method: 'GET', url: '/coupons/stats?campaignId=first-order-anniversary' })).json();
    await eventually(async () => {
      expect(await stats()).toMatchObject({
        campaigns: [{ campaignId: 'first-order-anniversary', variant: 'a', issued: 1, redeemed: 1, redemptionRate: 1, redeemedMoreThanOnce: 0, revenue: [{ currency: 'USD', amountMinor: 5_000, amount: 50 }] }],
      });
    }, 30_000);
    await publish(producer, infra.prefix, 'lifecycleEvents', [orderCompleted('r2', req.customerId, code, 7_000, 'USD')]);
    await eventually(async () => {
      const body = await stats();
      expect(body).toMatchObject({ campaigns: [{ issued: 1, redeemed: 1, redeemedMoreThanOnce: 1, revenue: [{ currency: 'USD', amountMinor: 5_000 }] }] });
      expect(body).toMatchObject({ pools: expect.arrayContaining([{ pool: 'gift', kind: 'generated', available: null, issued: 4, redeemed: 1, low: false }]) });
    }, 30_000);
    const [row] = await runtime.db.select().from(coupons).where(eq(coupons.code, code));
    expect(row).toMatchObject({ redeemedOrderId: 'order-r1', redemptions: 2, revenueMinor: 5_000, revenueCurrency: 'USD' });
    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('lifecycle_coupon_pool_available{pool="shop"} 0');
  });
});
