import { z } from 'zod';
import { ConsentChanged, MessageRequested, topicName } from '@lifecycle/contracts';
import { createProducer } from '@lifecycle/kit';
import { openClockWalk } from '../timeline/clock-walk.ts';
import type { IsolatedStack } from './isolated-stack.ts';
import type { ReplayOutcome } from './report.ts';
import { readRetained, type RetainedRecord } from './retained-records.ts';
import { dueBySteps } from './replay-window.ts';
import { serviceAuthHeaders } from '../stack-secrets.ts';

/** What a replay puts on its stack: the live records, and the instants its clock walks to. */
export interface ReplayInput {
  /** `commerce.events` records received before the window: put on first, as received at `from`. */
  history: RetainedRecord[];
  /** The window's start: messages requested before it are not counted. */
  from: Date;
  /** `commerce.events` records received in the window, put on at their receipt times. */
  commerce: RetainedRecord[];
  /** `consent.changes` records up to the window's end, put on when messaging recorded them (those before the window at its start). */
  consent: RetainedRecord[];
  steps: Date[];
}

/** When messaging recorded a consent change (`occurredAt`); a record it cannot read counts at its Kafka timestamp. */
export function consentInstant(record: RetainedRecord): number {
  try {
    const parsed = ConsentChanged.safeParse(JSON.parse(record.value?.toString('utf8') ?? 'null'));
    if (parsed.success) return Date.parse(parsed.data.occurredAt);
  } catch {
    // not JSON: the consumer dead-letters it, as it would have live
  }
  return record.timestamp;
}

const Campaigns = z.object({ campaigns: z.array(z.object({ id: z.string(), enabled: z.boolean() })) });
const Stats = z.object({ pending: z.number(), skipped: z.object({ byReason: z.record(z.string(), z.number()) }), cancelled: z.object({ byReason: z.record(z.string(), z.number()) }) });

async function getJson<T>(token: string, url: string, schema: z.ZodType<T>): Promise<T> {
  const response = await fetch(url, { headers: serviceAuthHeaders(token) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return schema.parse(await response.json());
}

/**
 * Walks the stack's clock through the steps (tools/src/timeline/clock-walk.ts): at each, the
 * records due by it go onto the stack's topics with their original keys, bytes, headers and
 * timestamps, the pipeline takes them in, and the scheduler fires what came due, each job as of
 * its due instant, again until a fire settles nothing (a fired timer may start a stage change
 * whose campaign is due at once).
 */
export async function replay(stack: IsolatedStack, input: ReplayInput, onStep: (done: number, total: number) => void = () => {}): Promise<ReplayOutcome> {
  const producer = createProducer(stack.kafka);
  await producer.connect();
  const walk = await openClockWalk({ serviceToken: stack.serviceToken, schedulerUrl: stack.urls.scheduler, ingestionUrl: stack.urls.ingestion, brokers: stack.brokers, topicPrefix: stack.prefix });
  try {
    const commerce = dueBySteps(input.commerce, (r) => r.timestamp, input.steps);
    const consent = dueBySteps(input.consent, consentInstant, input.steps);
    const messages = (records: RetainedRecord[], at?: Date) => records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: String(at?.getTime() ?? r.timestamp) }));
    // The customers' history first, all of it received at the window's start: what is a week
    // old or more then is historical (profiles and contacts, no campaign), as an import would be.
    if (input.history.length > 0) {
      const topic = topicName(stack.prefix, 'commerceEvents');
      const all = messages(input.history, input.from);
      let fired = await walk.step(input.from, async () => {
        for (let at = 0; at < all.length; at += 500) await producer.send({ topic, messages: all.slice(at, at + 500), acks: -1 });
      });
      for (let round = 0; round < 20 && fired > 0; round++) {
        await walk.waitUntilTakenIn();
        fired = await walk.fire();
      }
    }
    for (const [i, step] of input.steps.entries()) {
      const topicMessages = [
        { topic: topicName(stack.prefix, 'consentChanges'), messages: messages(consent[i] ?? []) },
        { topic: topicName(stack.prefix, 'commerceEvents'), messages: messages(commerce[i] ?? []) },
      ].filter((t) => t.messages.length > 0);
      let fired = await walk.step(step, async () => {
        // In slices: a busy day's records in one request would pass the broker's message.max.bytes.
        for (const { topic, messages: all } of topicMessages) for (let at = 0; at < all.length; at += 500) await producer.send({ topic, messages: all.slice(at, at + 500), acks: -1 });
      });
      for (let round = 0; round < 20 && fired > 0; round++) {
        await walk.waitUntilTakenIn();
        fired = await walk.fire();
      }
      onStep(i + 1, input.steps.length);
    }
  } finally {
    await walk.close();
    await producer.disconnect();
  }
  const outcome = await outcomeOf(stack);
  // What the history's campaigns sent before the window is no answer about the window.
  return { ...outcome, sent: outcome.sent.filter((m) => Date.parse(m.at) >= input.from.getTime()) };
}

/** What the stack's scheduler requested (its `messages.requested`) and skipped (its stats API). */
async function outcomeOf(stack: IsolatedStack): Promise<ReplayOutcome> {
  const { records } = await readRetained(stack.kafka, topicName(stack.prefix, 'messagesRequested'), stack.prefix);
  const byId = new Map<string, MessageRequested>();
  for (const r of records) {
    const parsed = MessageRequested.safeParse(JSON.parse(r.value?.toString('utf8') ?? 'null'));
    // A request the relay published twice carries the same id: one message.
    if (parsed.success) byId.set(parsed.data.id, parsed.data);
  }
  const { campaigns } = await getJson(stack.serviceToken, `${stack.urls.scheduler}/campaigns`, Campaigns);
  const skipped: ReplayOutcome['skipped'] = {};
  const pending: ReplayOutcome['pending'] = {};
  for (const c of campaigns) {
    const stats = await getJson(stack.serviceToken, `${stack.urls.scheduler}/campaigns/${encodeURIComponent(c.id)}/stats`, Stats);
    if (stats.pending > 0) pending[c.id] = stats.pending;
    const reasons: Record<string, number> = { ...stats.skipped.byReason };
    for (const [reason, n] of Object.entries(stats.cancelled.byReason)) reasons[`cancelled: ${reason}`] = n;
    if (Object.keys(reasons).length > 0) skipped[c.id] = reasons;
  }
  return {
    campaigns,
    sent: [...byId.values()].map((m) => ({ campaignId: m.payload.campaignId, customerId: m.customerId, at: m.occurredAt })),
    skipped,
    pending,
  };
}
