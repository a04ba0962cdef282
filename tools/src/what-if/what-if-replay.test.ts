import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { topicName, type ConsentChanged } from '@lifecycle/contracts';
import { campaignTemplateProblems } from '@lifecycle/messaging/commands';
import { campaignFolderProblems } from '@lifecycle/scheduler/commands';
import { connectedProducer, createTestInfra, type TestInfra } from '../test-kit.ts';
import { isoWeek, type CampaignReport, type WhatIfReport } from './report.ts';
import { runWhatIf, type WhatIfOptions } from './run-what-if.ts';

/**
 * A what-if on a fixture whose answer is worked out by hand. The "live" stack is this file's
 * topics: five customers' Segment calls on its commerce.events (at receipt times relative to
 * now) and two unsubscribes on its consent.changes. Live campaigns (fixture/live): a thank-you at
 * once, a review request 7 days after delivery at 10:00. Candidate (fixture/candidate): the
 * thank-you an hour later, the review request disabled, a marketing follow-up two days after an
 * order at 10:00. Everyone is in UTC (the fixture store's zone).
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
// Midnight UTC 20 days ago: the window is its first 14 days.
const base = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
const at = (days: number, hours = 0) => new Date(base + days * DAY + hours * HOUR);
const iso = (days: number, hours = 0) => at(days, hours).toISOString();
const fixture = (name: string) => join(import.meta.dirname, 'fixture', name);

interface Call {
  /** When ingestion's HTTP API received it: the record's timestamp. */
  receivedAt: Date;
  call: Record<string, unknown>;
}

const identify = (userId: string, when: Date): Call => ({
  receivedAt: when,
  call: { type: 'identify', messageId: randomUUID(), userId, timestamp: when.toISOString(), traits: { email: `${userId}@example.com`, first_name: userId, timezone: 'UTC' } },
});
const track = (userId: string, event: string, when: Date, properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Call => ({
  receivedAt: when,
  call: { type: 'track', messageId: randomUUID(), userId, event, timestamp: when.toISOString(), properties, ...extra },
});
const order = (id: string) => ({ order_id: id, total: 40, currency: 'USD', products: [{ name: 'Stoneware Mug', sku: 'MUG-STONE', price: 40, quantity: 1, category: 'Home' }] });

const calls: Call[] = [
  // Outside the window: received before it, and after it.
  identify('c4', at(-3)),
  track('c4', 'Order Completed', at(-2, 12), order('o-4a')),
  track('c4', 'Order Completed', at(15, 12), order('o-4b')),
  // c1: orders on day 1 at 12:00 from a client whose clock runs an hour fast (its sentAt tells:
  // received at 12:00:01, corrected to 12:00), delivered on day 3, never reviews.
  identify('c1', at(0, 10)),
  { ...track('c1', 'Order Completed', at(1, 13), order('o-1'), { sentAt: new Date(at(1, 13).getTime() + 1_000).toISOString() }), receivedAt: new Date(at(1, 12).getTime() + 1_000) },
  track('c1', 'Order Delivered', at(3, 12), { order_id: 'o-1' }),
  // … and orders again on day 11, delivered on day 12: its review request is due after the window.
  track('c1', 'Order Completed', at(11, 12), order('o-1b')),
  track('c1', 'Order Delivered', at(12, 12), { order_id: 'o-1b' }),
  // c2: orders late on day 2, delivered on day 4, reviews on day 8 (the review request exits).
  identify('c2', at(0, 11)),
  track('c2', 'Order Completed', at(2, 22), order('o-2')),
  track('c2', 'Order Delivered', at(4, 15), { order_id: 'o-2' }),
  track('c2', 'Product Reviewed', at(8, 9), { product_id: 'MUG-STONE', rating: 5 }),
  // c3: orders on day 5, delivered on day 6, unsubscribes on day 7 at 12:00 (consent.changes below),
  // two hours after the follow-up the candidate sends it that day.
  identify('c3', at(0, 12)),
  track('c3', 'Order Completed', at(5, 12), order('o-3')),
  track('c3', 'Order Delivered', at(6, 12), { order_id: 'o-3' }),
  // c5: unsubscribed three days before the window; orders on day 2.
  identify('c5', at(0, 13)),
  track('c5', 'Order Completed', at(2, 12), order('o-5')),
];

const unsubscribe = (customerId: string, when: Date): ConsentChanged => ({
  id: `consent:${customerId}:1`,
  type: 'consent.changed',
  version: 1,
  occurredAt: when.toISOString(),
  customerId,
  causationId: `unsubscribe:${customerId}`,
  payload: { state: 'unsubscribed', marketingAllowed: false, consentAt: when.toISOString(), source: 'unsubscribe-link', sequence: 1, previousState: null },
});

let infra: TestInfra;
const output: string[] = [];
let report: WhatIfReport;

function options(candidateDir: string, lines: string[]): WhatIfOptions {
  return {
    brokers: infra.brokers,
    databaseUrl: infra.databaseUrl,
    topicPrefix: infra.prefix,
    liveCampaignsDir: fixture('live'),
    candidateDir,
    from: iso(0),
    to: iso(14),
    liveNow: async () => new Date(),
    campaignProblems: (dir) => campaignFolderProblems(dir, (campaigns, templatesDir) => campaignTemplateProblems(campaigns, templatesDir, process.env)),
    json: true,
    isolationName: `${inject('runId')}_whatif_${randomUUID().slice(0, 6)}`,
    say: (line) => lines.push(line),
    write: (line) => lines.push(line),
  };
}

beforeAll(async () => {
  infra = await createTestInfra();
  const producer = await connectedProducer(infra);
  // One request: a record far later than the first in the same segment would roll it, and
  // commerce.events' 7-day retention could delete the fixture's first days mid-test.
  await producer.sendBatch({
    acks: -1,
    topicMessages: [
      { topic: topicName(infra.prefix, 'commerceEvents'), messages: calls.map((c) => ({ key: String(c.call.userId), value: JSON.stringify(c.call), timestamp: String(c.receivedAt.getTime()) })) },
      { topic: topicName(infra.prefix, 'consentChanges'), messages: [unsubscribe('c5', at(-3)), unsubscribe('c3', at(7, 12))].map((c) => ({ key: c.customerId, value: JSON.stringify(c), timestamp: String(Date.parse(c.occurredAt)) })) },
    ],
  });
  await producer.disconnect();
  const code = await runWhatIf(options(fixture('candidate'), output));
  expect(code, output.join('\n')).toBe(0);
  report = JSON.parse(output.join('\n')) as WhatIfReport;
}, 600_000);

afterAll(async () => {
  const admin = infra.kafka.admin();
  await admin.connect();
  try {
    // The replays removed their own topics and databases (the run's teardown would otherwise).
    const left = (await admin.listTopics()).filter((t) => t.startsWith(infra.prefix) && t.includes('_whatif_'));
    expect(left).toEqual([]);
  } finally {
    await admin.disconnect();
  }
});

const campaign = (id: string): CampaignReport => {
  const found = report.campaigns.find((c) => c.campaignId === id);
  if (found === undefined) throw new Error(`no ${id} in ${JSON.stringify(report.campaigns.map((c) => c.campaignId))}`);
  return found;
};
const weeks = (...instants: string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of instants) out[isoWeek(i)] = (out[isoWeek(i)] ?? 0) + 1;
  return out;
};

describe('what-if on a fixture worked out by hand', () => {
  it('replays the window’s records and the consent changes up to its end', () => {
    expect(report.from).toBe(iso(0));
    expect(report.to).toBe(iso(14));
    // c4's identify and first order came before the window: history, received at its start.
    expect(report.replayed).toMatchObject({ historyBeforeWindow: 2, commerceEvents: 14, consentChanges: 2, consentChangesBeforeWindow: 1, steps: 15 });
  });

  it('moves every thank-you an hour later, at the original order instants (the fast client’s corrected)', () => {
    const c = campaign('post-purchase-thank-you');
    const live = [iso(1, 12), iso(2, 12), iso(2, 22), iso(5, 12), iso(11, 12)];
    const candidate = [iso(1, 13), iso(2, 13), iso(2, 23), iso(5, 13), iso(11, 13)];
    expect(c.verdict).toBe('changed');
    expect(c.live).toMatchObject({ enabled: true, sent: 5, byWeek: weeks(...live), skipped: {}, pendingAtEnd: 0 });
    expect(c.candidate).toMatchObject({ enabled: true, sent: 5, byWeek: weeks(...candidate), skipped: {}, pendingAtEnd: 0 });
    expect(c.difference.sent).toBe(0);
    expect(c.difference.onlyCandidateTotal).toBe(5);
    expect(c.difference.onlyLiveTotal).toBe(5);
    expect(c.difference.onlyCandidate).toEqual([
      { customerId: 'c1', at: iso(1, 13) },
      { customerId: 'c5', at: iso(2, 13) },
      { customerId: 'c2', at: iso(2, 23) },
    ]);
    expect(c.difference.onlyLive[0]).toEqual({ customerId: 'c1', at: iso(1, 12) });
  });

  it('shows what disabling the review request takes away: one request, an exit, an unsubscribe skip and one due later', () => {
    const c = campaign('review-request');
    expect(c.verdict).toBe('changed');
    expect(c.live).toEqual({ enabled: true, sent: 1, byWeek: weeks(iso(10, 10)), skipped: { 'cancelled: exit': 1, unsubscribed: 1 }, pendingAtEnd: 1 });
    expect(c.candidate).toEqual({ enabled: false, sent: 0, byWeek: {}, skipped: {}, pendingAtEnd: 0 });
    expect(c.difference).toMatchObject({ sent: -1, pendingAtEnd: -1, onlyLive: [{ customerId: 'c1', at: iso(10, 10) }], onlyCandidateTotal: 0 });
  });

  it('shows what the added follow-up sends: to the customer who leaves later that day, not to the one who left before the window, and for an order two days before the window', () => {
    const c = campaign('order-follow-up');
    expect(c.verdict).toBe('added');
    expect(c.live).toEqual({ enabled: null, sent: 0, byWeek: {}, skipped: {}, pendingAtEnd: 0 });
    // c4's order on day -2 at 12:00 (history) is followed up on day 0 at 10:00, inside the window.
    expect(c.candidate).toEqual({ enabled: true, sent: 5, byWeek: weeks(iso(0, 10), iso(3, 10), iso(4, 10), iso(7, 10), iso(13, 10)), skipped: { unsubscribed: 1 }, pendingAtEnd: 0 });
    expect(c.difference.onlyCandidate).toEqual([
      { customerId: 'c4', at: iso(0, 10) },
      { customerId: 'c1', at: iso(3, 10) },
      { customerId: 'c2', at: iso(4, 10) },
    ]);
    expect(c.difference.onlyCandidateTotal).toBe(5);
  });

  it('refuses a candidate folder that fails campaigns:check, naming file and line, and replays nothing', async () => {
    const lines: string[] = [];
    const code = await runWhatIf(options(fixture('broken'), lines));
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('fail campaigns:check');
    expect(lines.join('\n')).toMatch(/fixture\/broken\/review-request\.yaml:7: delay: Unrecognized key: "dayz"/);
  });
});
