import { Analytics } from '@segment/analytics-node';
import { z } from 'zod';
import type { MessageRequested } from '@lifecycle/contracts';
import { messagingGroups, openClockWalk } from '../timeline/clock-walk.ts';
import { demoCustomers } from './store-customers.ts';
import { seededRandom } from './seeded-random.ts';
import { dayDate, demoStore, withCoupon, type DemoCall, type MailReaction } from './store-simulation.ts';
import { outboxCouponCodes } from './mail-coupons.ts';
import { followTopic } from './follow-topic.ts';
import { changePreferencesFromMail, PREFERENCE_CHANGERS, type PreferenceChange } from './mail-preferences.ts';
import { startMailEngagement, type EngagementTotals, type SendGridWebhookEvent } from './mail-engagement.ts';
import { serviceAuthHeaders } from '../stack-secrets.ts';

/**
 * `./lifecycle demo`: plays the demo store for a year against a running stack whose clock is
 * simulated, a step (a day) at a time: the scheduler's clock walks to the step's end with firing
 * held (`timeline/clock-walk.ts`); once messaging has sent the last step's mail, the step's calls
 * go to ingestion's Segment HTTP API with the real `@segment/analytics-node` client, with the opens,
 * clicks and unsubscribes of the mail so far through messaging's signed SendGrid webhook
 * (`mail-engagement.ts`); once the pipeline has taken them in, what came due fires, each job as
 * of its moment; the customers answer the mail (NPS answers, returns after a win-back; a few
 * change their preferences on messaging's page). At the end, a summary from the services' read
 * APIs, holdouts, programme lift and sunset included. The same seed plays the same year: every step
 * waits for the system, so its speed changes nothing.
 */

/** The order a step's mail is answered in: when it was requested, then whose and which it is. */
export function mailOrder(a: MessageRequested, b: MessageRequested): number {
  return Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.customerId.localeCompare(b.customerId) || a.payload.dedupeKey.localeCompare(b.payload.dedupeKey);
}

export interface DemoOptions {
  customers: number;
  seed: number;
  days: number;
  /** The first local date of the year (YYYY-MM-DD). */
  start: string;
  /** How far the clock walks per step, in hours (a day by default): each step costs a pipeline round trip. */
  stepHours: number;
  brokers: string[];
  topicPrefix: string;
  /** The stack's database: each step also waits for the services' outboxes to be empty. */
  databaseUrl?: string;
  /** Where messaging writes mail as .eml files (no SendGrid key): customers find their coupon codes there. */
  outboxDir?: string;
  urls: { ingestion: string; classifier: string; scheduler: string; messaging: string };
  /** The stack's SERVICE_TOKEN, sent to its read and admin APIs; undefined for a stack without one. */
  serviceToken: string | undefined;
  writeKey: string;
  say: (line: string) => void;
  /** Told what the demo does, for tests that check the system's answers against it. */
  observe?: DemoObserver;
  /** Rewrites one progress line (a terminal), or says it. */
  progress: (line: string) => void;
}

/** What a test can watch the demo do. */
export interface DemoObserver {
  /** A Segment call, as it is sent. */
  call?: (call: DemoCall) => void;
  /** A batch of webhook events messaging accepted. */
  posted?: (events: readonly SendGridWebhookEvent[]) => void;
  /** The summary, as printed. */
  summary?: (summary: DemoSummary) => void;
}

/** The preference changes the demo's customers made through messaging's preference page. */
export interface PreferenceTotals {
  changed: { customerId: string; change: PreferenceChange }[];
  /** Visits that changed nothing, by why (no link in the mail, the page answered 404, …). */
  failed: Record<string, number>;
}

const Clock = z.object({ now: z.string(), mode: z.string() });
const HOUR = 3_600_000;

/** A progress bar of 20 cells. */
const bar = (done: number): string => {
  const cells = Math.round(Math.max(0, Math.min(1, done)) * 20);
  return `[${'#'.repeat(cells)}${'.'.repeat(20 - cells)}]`;
};

async function getJson<T>(token: string | undefined, url: string, schema: z.ZodType<T>): Promise<T> {
  const response = await fetch(url, { headers: serviceAuthHeaders(token) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return schema.parse(await response.json());
}

/**
 * Hands `calls` to the Segment client and resolves once it has delivered them all, in one post.
 * Through `flush` rather than per-call callbacks: the client holds each callback back until at
 * least 300 ms after its call (analytics-core's dispatch delay, meant for browsers that navigate
 * away), which made a day of a thousand calls cost 1.5 s. A delivery failure (the client retries
 * first) is reported on the client's `error` event and fails the demo.
 */
async function sendAll(analytics: Analytics, calls: readonly DemoCall[], failures: unknown[]): Promise<void> {
  // (A call's `couponOf` is the demo's own note: `withCoupon` has turned it into `coupon` by now.)
  for (const call of calls) {
    if (call.type === 'identify') analytics.identify({ userId: call.customerId, traits: call.traits, timestamp: call.at });
    else analytics.track({ userId: call.customerId, event: call.event, properties: call.properties, timestamp: call.at });
  }
  await analytics.flush();
  const [failure] = failures.splice(0);
  if (failure === undefined) return;
  // The client reports `{ code, reason, ctx }`; the reason says what went wrong.
  const reason: unknown = typeof failure === 'object' && failure !== null && 'reason' in failure ? failure.reason : failure;
  throw new Error(`ingestion did not take the demo's calls: ${reason instanceof Error ? reason.message : String(reason)}`);
}

const Shown = z.object({ sku: z.string().optional(), productId: z.string().optional() });
const MailProducts = z.object({ recommendations: z.array(z.unknown()).optional(), product: z.unknown().optional() });

/** The skus (or product ids) of the products a mail's data shows: its recommendations and its one product (back in stock, cheaper, due again). */
export function productsShown(data: Record<string, unknown>): string[] {
  const parsed = MailProducts.safeParse(data);
  if (!parsed.success) return [];
  const items = [...(parsed.data.recommendations ?? []), ...(parsed.data.product === undefined ? [] : [parsed.data.product])];
  return items.flatMap((item) => {
    const p = Shown.safeParse(item);
    const id = p.success ? (p.data.sku ?? p.data.productId) : undefined;
    return id === undefined ? [] : [id];
  });
}

/** Calls per post to ingestion's `/v1/batch`: well under the Segment client's batch limits (500 events, 500 KB), so each goes as one post. */
const CALLS_PER_POST = 200;

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const clocks = await Promise.all([
    getJson(o.serviceToken, `${o.urls.scheduler}/admin/clock`, Clock).catch(() => null),
    getJson(o.serviceToken, `${o.urls.ingestion}/admin/clock`, Clock).catch(() => null),
  ]);
  if (clocks.some((c) => c?.mode !== 'simulated')) {
    o.say('the demo needs the stack running with a simulated clock; in another terminal:');
    // A day early: the first local day begins in Tokyo 9 hours before it does in UTC.
    o.say(`  CLOCK=simulated CLOCK_START=${dayDate(o.start, -1)}T00:00:00Z ./lifecycle start`);
    return 1;
  }
  const firstInstant = new Date(`${o.start}T00:00:00.000Z`).getTime() - 14 * HOUR;
  const schedulerNow = Date.parse(clocks[0]?.now ?? '');
  if (schedulerNow > firstInstant + HOUR) {
    o.say(`the scheduler's clock is at ${clocks[0]?.now}, after the demo's start ${o.start}: time never runs backwards; give a later --start, or restart the stack on a fresh database`);
    return 1;
  }

  const random = seededRandom(o.seed);
  const store = demoStore(random, demoCustomers(random, o.customers, o.days), o.start);
  const mails: MessageRequested[] = [];
  const requests = await followTopic({ brokers: o.brokers, topicPrefix: o.topicPrefix, topic: 'messagesRequested', clientId: 'lifecycle-demo', onRecord: (mail) => mails.push(mail) });
  const engagement = await startMailEngagement({ brokers: o.brokers, topicPrefix: o.topicPrefix, messagingUrl: o.urls.messaging, say: o.say, ...(o.observe?.posted ? { onPosted: o.observe.posted } : {}) });
  const walk = await openClockWalk({ serviceToken: o.serviceToken, schedulerUrl: o.urls.scheduler, ingestionUrl: o.urls.ingestion, brokers: o.brokers, topicPrefix: o.topicPrefix, ...(o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl, outboxSchemas: ['ingestion', 'classifier', 'scheduler', 'messaging'] } : {}) });
  // A post leaves when it is full or flushed, never on a timer: two posts in flight could reach
  // ingestion in either order.
  const analytics = new Analytics({ writeKey: o.writeKey, host: o.urls.ingestion, maxEventsInBatch: CALLS_PER_POST, flushInterval: 3_600_000 });
  const failures: unknown[] = [];
  analytics.on('error', (failure) => failures.push(failure));
  const totals = { events: 0, mails: 0, answered: 0, couponOrders: 0 };
  const preferences: PreferenceTotals = { changed: [], failed: {} };
  /** Customers who have decided whether to visit the preference page (on the first marketing mail they opened). */
  const preferenceDecided = new Set<string>();
  const coupons = o.outboxDir === undefined ? null : outboxCouponCodes(o.outboxDir);
  const codeOf = (dedupeKey: string): string | undefined => coupons?.codeOf(dedupeKey);
  const began = Date.now();
  const visitPreferencePages = async (outboxDir: string, answered: readonly [MessageRequested, MailReaction | null][]): Promise<void> => {
    for (const [mail, reaction] of answered) {
      if (mail.payload.category !== 'marketing' || reaction?.openedAt == null || reaction.unsubscribedAt != null || preferenceDecided.has(mail.customerId)) continue;
      preferenceDecided.add(mail.customerId);
      // A stream of its own per customer: the store's streams draw exactly as before.
      const r = random.fork(`preferences:${mail.customerId}`);
      if (!r.chance(PREFERENCE_CHANGERS)) continue;
      const visit = await changePreferencesFromMail({ outboxDir, dedupeKey: mail.payload.dedupeKey, messagingUrl: o.urls.messaging, r });
      if (visit.ok) preferences.changed.push({ customerId: mail.customerId, change: visit.change });
      else preferences.failed[visit.why] = (preferences.failed[visit.why] ?? 0) + 1;
    }
  };
  /** The mail the last fire requested, with what each customer did with it. */
  let answeredLast: [MessageRequested, MailReaction | null][] = [];
  try {
    const queue: DemoCall[] = [];
    let nextDay = 0;
    const end = new Date(`${dayDate(o.start, o.days)}T00:00:00.000Z`).getTime() + 14 * HOUR;
    const stepMs = o.stepHours * HOUR;
    for (let from = Math.max(firstInstant, schedulerNow); from < end; ) {
      // Steps end on whole multiples of the step (UTC midnights for a day).
      const target = Math.min(end, (Math.floor(from / stepMs) + 1) * stepMs);
      // Days are played ahead of the clock: a day's calls span zones from Tokyo to Los Angeles.
      while (nextDay < o.days && new Date(`${dayDate(o.start, nextDay)}T00:00:00.000Z`).getTime() - 14 * HOUR <= target) queue.push(...store.playDay(nextDay++).calls);
      queue.sort((a, b) => a.at.getTime() - b.at.getTime());
      const later = queue.findIndex((c) => c.at.getTime() > target);
      const planned = queue.splice(0, later === -1 ? queue.length : later);
      // The clock walks to the step's end; the step's calls are received then, with their own
      // times; once the pipeline has taken them in, what came due fires as of its moment.
      // Opens, clicks and unsubscribes that happened by then go in with the calls, so an
      // unsubscribe reaches the scheduler and messaging before what comes due fires.
      // Messaging sends the last step's mail while this step's calls go in; once it has (its
      // outcomes, suppressions included, reach the scheduler before anything fires), the
      // opens, clicks and unsubscribes of that mail go in: the same way whatever the machine's speed.
      await walk.step(new Date(target), async () => {
        // Orders with a mail's coupon carry its code, read from the mail once it was sent.
        const due = planned.map((call) => withCoupon(call, codeOf));
        for (const call of due) {
          if (call.type === 'track' && call.properties['coupon'] !== undefined) totals.couponOrders++;
          o.observe?.call?.(call);
        }
        const t0 = performance.now();
        // One batch in flight at a time, in time order: batches posted side by side can reach
        // ingestion in either order, and which of a customer's views starts a browse-abandonment
        // (or which an exit follows) would then differ from run to run.
        for (let i = 0; i < due.length; i += CALLS_PER_POST) await sendAll(analytics, due.slice(i, i + CALLS_PER_POST), failures);
        const tPosted = performance.now();
        await walk.waitUntilTakenIn(messagingGroups);
        const t1 = performance.now();
        for (const [mail, reaction] of answeredLast) engagement.add(mail, reaction);
        await engagement.waitForOutcomes();
        // The codes of the mail just sent that its readers opened (a reader who means to use one opened it).
        if (coupons !== null) for (const [mail, reaction] of answeredLast) if (mail.payload.offer !== undefined && reaction?.openedAt != null) await coupons.read(mail.payload.dedupeKey);
        // A few readers of marketing mail follow its "Manage preferences" link and change one thing.
        if (o.outboxDir !== undefined) await visitPreferencePages(o.outboxDir, answeredLast);
        const t2 = performance.now();
        await engagement.report(new Date(target));
        if (process.env['LIFECYCLE_WALK_TIMINGS'] === '1') process.stderr.write(`  calls ${Math.round(tPosted - t0)} ms (${due.length}), then messaging ${Math.round(t1 - tPosted)} ms, outcomes ${Math.round(t2 - t1)} ms, report ${Math.round(performance.now() - t2)} ms\n`);
      });
      totals.events += planned.length;
      // Every mail the step requested is answered in the step.
      await requests.readToEnd();
      answeredLast = [];
      // Answered once each, then let go: a year's mail need not stay in memory. In an order of their
      // own (the partitions interleave, and the scheduler's workers write a step's mail in any order),
      // so a customer's mail stream answers the same mail with the same draw whatever the timing.
      for (const mail of mails.splice(0).sort(mailOrder)) {
        totals.mails++;
        const day = Math.floor((Date.parse(mail.occurredAt) - Date.parse(`${o.start}T00:00:00.000Z`)) / 86_400_000);
        const reaction = store.answerMail(
          { customerId: mail.customerId, campaignId: mail.payload.campaignId, category: mail.payload.category, sentAt: new Date(mail.occurredAt), dedupeKey: mail.payload.dedupeKey, hasOffer: mail.payload.offer !== undefined, products: productsShown(mail.payload.data) },
          day,
        );
        answeredLast.push([mail, reaction]);
        if (reaction !== null && reaction.calls.length > 0) {
          queue.push(...reaction.calls);
          totals.answered += reaction.calls.length;
        }
      }
      from = target;
      const daysDone = Math.min(o.days, Math.max(0, Math.floor((target - Date.parse(`${o.start}T00:00:00.000Z`)) / 86_400_000)));
      o.progress(`${bar(daysDone / o.days)} day ${daysDone}/${o.days}  events sent ${totals.events.toLocaleString('en-US')}  mails ${totals.mails.toLocaleString('en-US')}  answers ${totals.answered.toLocaleString('en-US')}  ${Math.round((Date.now() - began) / 1000)} s`);
    }
    // The last steps' mail: sent, its outcomes read, its engagement reported.
    await walk.waitUntilTakenIn(messagingGroups);
    for (const [mail, reaction] of answeredLast) engagement.add(mail, reaction);
    await engagement.readOutcomes();
    await engagement.finish(new Date(end));
  } finally {
    await analytics.closeAndFlush({ timeout: 10_000 });
    await walk.close();
    await requests.stop();
    await engagement.stop();
  }
  o.say('');
  await printSummary(o, totals, engagement.totals, preferences);
  return 0;
}

/** One group of a holdout or of the programme (docs/measurement-and-consent.md section 2). */
const Group = z.object({ customers: z.number(), converted: z.number(), conversionRate: z.number().nullable(), revenuePerCustomer: z.record(z.string(), z.number()).default({}) });
const Lift = z.object({ absolute: z.number(), relative: z.number().nullable().optional(), ci95: z.tuple([z.number(), z.number()]), significant: z.boolean().optional(), method: z.string().optional() });
export type Lift = z.infer<typeof Lift>;
const Holdout = z.object({ percent: z.number(), mailed: Group, heldOut: Group, lift: Lift.nullable() });
export type Holdout = z.infer<typeof Holdout>;
const Programme = z.object({ globalControlPercent: z.number(), mailed: Group, control: Group, lift: Lift.nullable() });
export type Programme = z.infer<typeof Programme>;
const Sunset = z.object({ enabled: z.boolean(), after: z.string().nullable().optional(), grace: z.string().nullable().optional(), sunset: z.number(), rePermissionSent: z.number().optional(), reengaged: z.number().optional() });
export type Sunset = z.infer<typeof Sunset>;

const CampaignList = z.object({
  campaigns: z.array(
    z.object({
      id: z.string(),
      sent: z.number(),
      conversions: z.number(),
      revenue: z.record(z.string(), z.number()),
      // A scheduler from before holdouts has none; one it cannot read is left out rather than failing the summary.
      holdout: Holdout.nullable().optional().catch(null),
    }),
  ),
});
const Stages = z.object({ stages: z.record(z.string(), z.number()) });
const Retention = z.object({
  customerRetentionRate: z.number().nullable(),
  churnRate: z.number().nullable(),
  repeatPurchaseRate: z.number().nullable(),
  byCurrency: z.record(z.string(), z.object({ averageOrderValue: z.number().nullable(), revenue: z.number(), orders: z.number() })),
  nps: z.number().nullable(),
  stageMoves: z.array(z.object({ from: z.string().nullable(), to: z.string(), count: z.number() })),
});

const pct = (r: number | null): string => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);

const CouponStats = z.object({ pools: z.array(z.object({ pool: z.string(), issued: z.number(), redeemed: z.number(), available: z.number().nullable().optional(), low: z.boolean().optional() })) });
const Evaluation = z.object({ customers: z.number(), hitRateAt3: z.number().nullable(), baselineHitRateAt3: z.number().nullable() });

/** Coupons as messaging counts them, over every pool. */
export interface CouponSummary {
  issued: number;
  redeemed: number;
  /** Redeemed of issued; null with none issued. */
  redemptionRate: number | null;
  /** Orders the demo's customers placed with a code from their mail. */
  ordersWithCode: number;
}
export type RecommendationSummary = z.infer<typeof Evaluation>;

/** A read API the summary can do without (one a stack may not have yet): its answer, or why there is none. */
export async function getOptionalJson<T>(token: string | undefined, url: string, schema: z.ZodType<T>): Promise<{ ok: true; value: T } | { ok: false; why: string }> {
  try {
    const response = await fetch(url, { headers: serviceAuthHeaders(token) });
    if (!response.ok) return { ok: false, why: `${new URL(url).pathname} answered ${response.status}` };
    const parsed = schema.safeParse(await response.json());
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, why: `${new URL(url).pathname} answered in an unknown shape` };
  } catch {
    return { ok: false, why: `${new URL(url).pathname} did not answer` };
  }
}

/** The summary's lines on offers and recommendations; "not available" (and why) for a figure the stack did not give. */
export function offerLines(coupons: CouponSummary | { why: string }, recommendations: RecommendationSummary | { why: string }): string[] {
  const couponLine =
    'why' in coupons
      ? `Coupons: not available (${coupons.why})`
      : `Coupons: ${coupons.issued.toLocaleString('en-US')} codes issued, ${coupons.redeemed.toLocaleString('en-US')} redeemed, redemption rate ${pct(coupons.redemptionRate)} (the demo's customers placed ${coupons.ordersWithCode} orders with a code from their mail)`;
  const recommendationLine =
    'why' in recommendations
      ? `Recommendations: not available (${recommendations.why})`
      : `Recommendations: hit rate at 3 ${pct(recommendations.hitRateAt3)} vs best sellers ${pct(recommendations.baselineHitRateAt3)} over ${recommendations.customers.toLocaleString('en-US')} customers (each customer's last order held out)`;
  return [couponLine, recommendationLine];
}

/** A rate difference in percentage points, signed: +4.0 pp. */
const points = (d: number): string => `${d > 0 ? '+' : ''}${(d * 100).toFixed(1)} pp`;

/** The lift with its interval, and whether the interval rules out no effect (it does not span 0). */
function liftText(lift: Lift | null): string {
  if (lift === null) return 'no lift yet (a group is empty)';
  const significant = lift.ci95[0] > 0 || lift.ci95[1] < 0;
  return `lift ${points(lift.absolute)}, 95% interval ${points(lift.ci95[0])} to ${points(lift.ci95[1])} (${significant ? 'significant' : 'not significant'})`;
}

const groupText = (label: string, g: z.infer<typeof Group>): string => `${label} ${pct(g.conversionRate)} of ${g.customers.toLocaleString('en-US')} converted`;

/**
 * The summary's lines on measurement: each holdout campaign's and the programme's mailed vs
 * held-out conversion and lift, as the scheduler's read API gives them, and sunset; "not
 * available" (and why) for what the stack did not give.
 */
export function measurementLines(holdouts: readonly { campaignId: string; holdout: Holdout }[], programme: Programme | { why: string }, sunset: Sunset | { why: string }): string[] {
  const method = [...holdouts.map((h) => h.holdout.lift?.method), 'why' in programme ? undefined : programme.lift?.method].find((m) => m !== undefined);
  return [
    holdouts.length === 0 ? 'Holdouts: none (no campaign holds customers out)' : `Holdouts (held-out customers got no mail of the campaign; lift = mailed minus held-out conversion rate${method === undefined ? '' : `, ${method}`}):`,
    ...holdouts.map(({ campaignId, holdout }) => `  ${campaignId} (${holdout.percent}% held out): ${groupText('mailed', holdout.mailed)}, ${groupText('held out', holdout.heldOut)}: ${liftText(holdout.lift)}`),
    'why' in programme
      ? `Programme: not available (${programme.why})`
      : programme.globalControlPercent === 0 && programme.control.customers === 0
        ? 'Programme: no control group (globalControl is 0 in _settings.yaml)'
        : `Programme (${programme.globalControlPercent}% control group, no marketing mail at all): ${groupText('mailed', programme.mailed)}, ${groupText('control', programme.control)}: ${liftText(programme.lift)}`,
    'why' in sunset
      ? `Sunset: not available (${sunset.why})`
      : !sunset.enabled
        ? 'Sunset: off'
        : `Sunset (no open or click for ${sunset.after ?? '?'}, then none within ${sunset.grace ?? '?'} of the re-permission mail): ${sunset.sunset.toLocaleString('en-US')} customers sunset${sunset.rePermissionSent === undefined ? '' : `, ${sunset.rePermissionSent.toLocaleString('en-US')} re-permission mails sent`}${sunset.reengaged === undefined ? '' : `, ${sunset.reengaged.toLocaleString('en-US')} re-engaged`}`,
  ];
}

/** The summary's line on the preference changes the demo's customers made through the real page. */
export function preferenceLine(preferences: PreferenceTotals, fromOutbox: boolean): string {
  if (!fromOutbox) return 'Preferences: none changed (the mail went to SendGrid: the demo reads the preference links in the outbox folder only)';
  const topics = preferences.changed.filter((c) => c.change.kind === 'topic').length;
  const failed = Object.entries(preferences.failed).sort((a, b) => b[1] - a[1]);
  return (
    `Preferences: ${preferences.changed.length} customers changed theirs on the preference page from a mail's "Manage preferences" link (${topics} left a topic, ${preferences.changed.length - topics} chose a frequency)` +
    (failed.length === 0 ? '' : `; ${failed.reduce((n, [, k]) => n + k, 0)} visits changed nothing (${failed.map(([why, k]) => `${why}: ${k}`).join(', ')})`)
  );
}

/** The figures the summary prints, as the read APIs gave them. */
export interface DemoSummary {
  totals: { events: number; mails: number; answered: number; couponOrders: number };
  engagement: EngagementTotals;
  /** Null when messaging has no `GET /coupons/stats`. */
  coupons: CouponSummary | null;
  /** Null when the scheduler has no `GET /recommendations/evaluation`. */
  recommendations: RecommendationSummary | null;
  campaigns: z.infer<typeof CampaignList>['campaigns'];
  /** The campaigns that hold customers out, with their figures as `GET /campaigns` gave them. */
  holdouts: { campaignId: string; holdout: Holdout }[];
  /** Null when the scheduler has no `GET /programme/stats`. */
  programme: Programme | null;
  /** Null when the scheduler has no `GET /sunset/stats`. */
  sunset: Sunset | null;
  preferences: PreferenceTotals;
  stages: Record<string, number>;
  /** Over the whole run. */
  retention: z.infer<typeof Retention>;
  /** Over the last quarter (half of a short run): retention and churn. */
  period: z.infer<typeof Retention>;
}

async function printSummary(o: DemoOptions, totals: DemoSummary['totals'], engaged: EngagementTotals, preferences: PreferenceTotals): Promise<void> {
  const from = `${o.start}T00:00:00.000Z`;
  const to = `${dayDate(o.start, o.days)}T00:00:00.000Z`;
  // Retention needs customers who had bought before the period: the last quarter (or half, for a short run).
  const periodDays = Math.max(1, Math.min(90, Math.floor(o.days / 2)));
  const periodFrom = `${dayDate(o.start, o.days - periodDays)}T00:00:00.000Z`;
  const metrics = (since: string) => getJson(o.serviceToken, `${o.urls.classifier}/metrics/retention?from=${encodeURIComponent(since)}&to=${encodeURIComponent(to)}`, Retention);
  const [campaigns, stages, retention, period, couponStats, evaluation, programmeStats, sunsetStats] = await Promise.all([
    getJson(o.serviceToken, `${o.urls.scheduler}/campaigns`, CampaignList),
    getJson(o.serviceToken, `${o.urls.classifier}/stages`, Stages),
    metrics(from),
    metrics(periodFrom),
    getOptionalJson(o.serviceToken, `${o.urls.messaging}/coupons/stats`, CouponStats),
    getOptionalJson(o.serviceToken, `${o.urls.scheduler}/recommendations/evaluation`, Evaluation),
    getOptionalJson(o.serviceToken, `${o.urls.scheduler}/programme/stats`, Programme),
    getOptionalJson(o.serviceToken, `${o.urls.scheduler}/sunset/stats`, Sunset),
  ]);
  // Every campaign's stats carry a `holdout` (percent 0 without one, its held-out group then the
  // programme's control customers): the campaigns that hold customers out are those with a share.
  const holdouts = campaigns.campaigns.flatMap((c) => (c.holdout !== null && c.holdout !== undefined && c.holdout.percent > 0 ? [{ campaignId: c.id, holdout: c.holdout }] : []));
  const coupons: CouponSummary | null = couponStats.ok
    ? (() => {
        const issued = couponStats.value.pools.reduce((n, p) => n + p.issued, 0);
        const redeemed = couponStats.value.pools.reduce((n, p) => n + p.redeemed, 0);
        return { issued, redeemed, redemptionRate: issued === 0 ? null : redeemed / issued, ordersWithCode: totals.couponOrders };
      })()
    : null;
  const recommendations = evaluation.ok ? evaluation.value : null;
  const lines = [
    `Demo store: ${o.customers} customers, ${o.days} days from ${o.start}, seed ${o.seed}: ${totals.events.toLocaleString('en-US')} events sent, ${totals.mails.toLocaleString('en-US')} mails requested, ${totals.answered} answers to mail`,
    `Mail engagement through the signed webhook: ${engaged.opened.toLocaleString('en-US')} opens, ${engaged.clicked.toLocaleString('en-US')} clicks, ${engaged.unsubscribed} unsubscribes`,
    '',
    '| campaign | messages sent | conversions | revenue |',
    '|---|---|---|---|',
    ...campaigns.campaigns.map((c) => `| ${c.id} | ${c.sent} | ${c.conversions} | ${Object.entries(c.revenue).map(([cur, v]) => `${v.toLocaleString('en-US')} ${cur}`).join(', ') || '–'} |`),
    '',
    `Customers per stage: ${Object.entries(stages.stages).map(([s, n]) => `${s} ${n}`).join(', ')}`,
    `Stage flow: ${retention.stageMoves.map((m) => `${m.from ?? '(new)'}→${m.to} ${m.count}`).join(', ')}`,
    `Over the last ${periodDays} days: retention ${pct(period.customerRetentionRate)}, churn ${pct(period.churnRate)} (of the customers who had bought before, the share who bought again, and who did not)`,
    `Over the run: repeat purchase ${pct(retention.repeatPurchaseRate)} (customers with two orders or more, of those with one), NPS ${retention.nps ?? '–'}`,
    `Average order value: ${Object.entries(retention.byCurrency).map(([cur, m]) => `${m.averageOrderValue?.toFixed(2) ?? '–'} ${cur} (${m.orders} orders)`).join(', ')}`,
    ...offerLines(coupons ?? { why: couponStats.ok ? '' : couponStats.why }, recommendations ?? { why: evaluation.ok ? '' : evaluation.why }),
    ...measurementLines(holdouts, programmeStats.ok ? programmeStats.value : { why: programmeStats.why }, sunsetStats.ok ? sunsetStats.value : { why: sunsetStats.why }),
    preferenceLine(preferences, o.outboxDir !== undefined),
    '',
    `The data stays: in the console, and in the read APIs (with the service token) ${o.urls.scheduler}/campaigns, ${o.urls.classifier}/stages, ${o.urls.classifier}/customers/demo-00001`,
  ];
  for (const line of lines) process.stdout.write(`${line}\n`);
  o.observe?.summary?.({ totals, engagement: { ...engaged }, campaigns: campaigns.campaigns, holdouts, preferences, programme: programmeStats.ok ? programmeStats.value : null, sunset: sunsetStats.ok ? sunsetStats.value : null, stages: stages.stages, retention, period, coupons, recommendations });
}
