import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import { z } from 'zod';
import { topicName, type TopicKey } from '@lifecycle/contracts';
import { serviceAuthHeaders } from '../stack-secrets.ts';

/**
 * Walks a stack's simulated clock a step at a time, for the demo and what-if. A step: the
 * scheduler's clock walks to the step's end with firing held (`POST /admin/clock` with `walk`),
 * ingestion follows it over `system.clock`; the driver sends what happened during the step; it
 * waits until the pipeline has taken that in (every consumer group caught up); then what came
 * due during the step fires, each job judged as of the instant it came due
 * (`POST /admin/clock/fire`). So a clock moving a day at a time gives the decisions a clock
 * moving a second at a time would have given, at the cost of one pipeline round trip a day.
 */

/** A consumer group of the stack and the topic it reads (each group reads one). */
export interface PipelineGroup {
  groupId: string;
  topic: TopicKey;
}

/**
 * The groups between ingestion's input and the scheduler's decisions: what must be taken in
 * before due jobs fire. Messaging's groups are not among them; its sends follow the decisions.
 * (Checked against the services' own lists in clock-walk.test.ts.)
 */
export const decisionGroups: readonly PipelineGroup[] = [
  { groupId: 'lifecycle-ingestion', topic: 'commerceEvents' },
  { groupId: 'lifecycle-classifier', topic: 'lifecycleEvents' },
  { groupId: 'lifecycle-classifier-timers', topic: 'timersFired' },
  { groupId: 'lifecycle-classifier-engagement', topic: 'messageEvents' },
  { groupId: 'lifecycle-classifier-consent', topic: 'consentChanges' },
  { groupId: 'lifecycle-scheduler', topic: 'lifecycleEvents' },
  { groupId: 'lifecycle-scheduler-stages', topic: 'stageChanges' },
  { groupId: 'lifecycle-scheduler-message-events', topic: 'messageEvents' },
  { groupId: 'lifecycle-scheduler-consent', topic: 'consentChanges' },
  { groupId: 'lifecycle-scheduler-timers', topic: 'timersRequested' },
];

/**
 * What a firing sets off besides mail: fired timers (the classifier's silence checks), the stage
 * changes they make, the jobs those plan and the timers they ask for. A walk waits for these after
 * each firing, so the next step's input never overtakes them (a customer who orders the next
 * morning is found at risk, or not, the same way in every run). Mail is not among them: messaging
 * sends while the next step's calls go in, and what it reports does not move a stage.
 */
export const firingGroups: readonly PipelineGroup[] = [
  { groupId: 'lifecycle-classifier-timers', topic: 'timersFired' },
  { groupId: 'lifecycle-scheduler-stages', topic: 'stageChanges' },
  { groupId: 'lifecycle-scheduler-timers', topic: 'timersRequested' },
];

/** Messaging's groups: what sends the mail the scheduler requested, and hears unsubscribes and coupon redemptions among the events. */
export const messagingGroups: readonly PipelineGroup[] = [
  { groupId: 'lifecycle-messaging', topic: 'messagesRequested' },
  { groupId: 'lifecycle-messaging-unsubscribes', topic: 'lifecycleEvents' },
];

export interface ClockWalkOptions {
  schedulerUrl: string;
  /** When given, each walk waits until ingestion's clock has followed (its receipt time). */
  ingestionUrl?: string;
  brokers: string[];
  topicPrefix: string;
  /** The groups to wait for; default `decisionGroups`. */
  groups?: readonly PipelineGroup[];
  /**
   * The stack's database: a walk then also waits for the services' outboxes to be empty (what a
   * service has committed but not yet published shows in no consumer lag). Without it, a quiet
   * moment of the topics is taken for a quiet pipeline.
   */
  databaseUrl?: string;
  /** The outboxes (service schemas) a wait for the walk's groups looks at; default those of the groups' services. */
  outboxSchemas?: readonly string[];
  /** The stack's SERVICE_TOKEN, if it has one: `/admin/clock` is a protected route. */
  serviceToken?: string | undefined;
  /** Gives up waiting for the pipeline after this long (ms); default 10 minutes. */
  takeInTimeoutMs?: number;
}

export interface ClockWalk {
  /** The scheduler's clock now. */
  now(): Promise<Date>;
  /** Walks the clock to `instant` with firing held; resolves once ingestion (if given) follows. */
  walkTo(instant: Date): Promise<void>;
  /** Waits until every group (the walk's, or those given) has taken in everything on its topic (no lag, twice in a row). */
  waitUntilTakenIn(only?: readonly PipelineGroup[]): Promise<void>;
  /**
   * Fires what came due on the walk, as of when each came due, again until a firing settles
   * nothing (what one sets off may come due too); resolves with how many were settled, once
   * they are published (with a database to tell) and what the firings set off
   * (`firingGroups`) has been taken in.
   */
  fire(): Promise<number>;
  /** One whole step: walk to `instant`, `send` what happened on the way, wait, fire. */
  step(instant: Date, send: () => Promise<void>): Promise<number>;
  close(): Promise<void>;
}

const ClockAnswer = z.object({ now: z.string(), fired: z.number().optional(), mode: z.string().optional() });

async function call(token: string | undefined, url: string, init?: RequestInit): Promise<z.infer<typeof ClockAnswer>> {
  const response = await fetch(url, { ...init, headers: { ...serviceAuthHeaders(token), ...Object.fromEntries(new Headers(init?.headers).entries()) } });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${await response.text()}`);
  return ClockAnswer.parse(await response.json());
}

const post = (body?: object): RequestInit => ({
  method: 'POST',
  ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
});

/** `LIFECYCLE_WALK_TIMINGS=1`: each step's phases and what each wait waited for, on stderr. */
const timings = (): boolean => process.env['LIFECYCLE_WALK_TIMINGS'] === '1';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Records the groups have not committed past, summed; and the topics' end offsets, to tell a quiet pipeline from a moving one. */
async function lagAndEnds(admin: Admin, prefix: string, groups: readonly PipelineGroup[]): Promise<{ lag: number; ends: string; behind: Map<string, number> }> {
  const topics = [...new Set(groups.map((g) => topicName(prefix, g.topic)))];
  // One round of requests side by side: a walk asks this a few times every step.
  const [offsets, committed] = await Promise.all([
    Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)),
    Promise.all(groups.map((group) => admin.fetchOffsets({ groupId: prefix + group.groupId, topics: [topicName(prefix, group.topic)] }))),
  ]);
  const ends = new Map(offsets.map(([topic, parts]) => [topic, new Map(parts.map((o) => [o.partition, { high: Number(o.high), low: Number(o.low) }]))]));
  let lag = 0;
  const behind = new Map<string, number>();
  groups.forEach((group, i) => {
    const topic = topicName(prefix, group.topic);
    const [mine] = committed[i] ?? [];
    for (const [partition, { high, low }] of ends.get(topic) ?? []) {
      const offset = Number(mine?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
      // A group that never committed on a partition has all of it still to read.
      const left = Math.max(0, high - (offset < 0 ? low : offset));
      lag += left;
      if (left > 0) behind.set(group.groupId, (behind.get(group.groupId) ?? 0) + left);
    }
  });
  const endsKey = [...ends].map(([topic, parts]) => `${topic}:${[...parts].map(([p, o]) => `${p}=${o.high}`).join(',')}`).join(';');
  return { lag, ends: endsKey, behind };
}

export async function openClockWalk(o: ClockWalkOptions): Promise<ClockWalk> {
  const groups = o.groups ?? decisionGroups;
  const timeoutMs = o.takeInTimeoutMs ?? 600_000;
  // Between the two looks that find the pipeline quiet (see `takenIn`).
  const settleMs = 5;
  const kafka = new Kafka({ clientId: 'lifecycle-clock-walk', brokers: o.brokers, logLevel: logLevel.NOTHING });
  // Asked every few ms while a step waits: no parallel workers for so small a question.
  const pool = o.databaseUrl === undefined ? undefined : new pg.Pool({ connectionString: o.databaseUrl, max: 1, options: '-c max_parallel_workers_per_gather=0' });
  /** How many of the outboxes of these groups' services hold rows committed and not yet published. */
  const unpublished = async (of: readonly PipelineGroup[] | undefined): Promise<number> => {
    if (pool === undefined) return 0;
    // Each service's groups are named lifecycle-<service>…, and its outbox is <service>.outbox.
    const named = of === undefined && o.outboxSchemas !== undefined ? o.outboxSchemas : (of ?? groups).map((g) => /^lifecycle-([a-z]+)/.exec(g.groupId)?.[1] ?? '');
    const schemas = [...new Set(named)].filter((x) => /^[a-z]+$/.test(x));
    if (schemas.length === 0) return 0;
    // Whether each holds a row, not how many: a count would read every row (and dead row) of a busy outbox.
    const { rows } = await pool.query<{ n: number }>(`SELECT (${schemas.map((x) => `(EXISTS (SELECT 1 FROM ${x}.outbox))::int`).join(' + ')}) AS n`);
    return rows[0]?.n ?? 0;
  };
  const admin = kafka.admin();
  await admin.connect();

  /** Waits until the groups have taken in everything (no lag, twice in a row); resolves to the topics' ends they were quiet at. */
  const takenIn = async (only: readonly PipelineGroup[] | undefined): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    let previous = '';
    let delay = 2;
    // With LIFECYCLE_WALK_TIMINGS=1: when each group last had records to take in, from the start
    // of the wait (the group that finishes last is the step's critical path).
    const began = performance.now();
    const lastBusy = new Map<string, number>();
    for (;;) {
      const [{ lag: behind, ends, behind: byGroup }, waiting] = await Promise.all([lagAndEnds(admin, o.topicPrefix, only ?? groups), unpublished(only)]);
      const lag = behind + waiting;
      for (const group of byGroup.keys()) lastBusy.set(group, performance.now() - began);
      if (waiting > 0) lastBusy.set('(outboxes)', performance.now() - began);
      // No lag, and nothing new published a moment later: a service commits its offsets after
      // the transaction holding its outbox rows, and a relay deletes rows only once they are
      // published, so rows published between the two reads of one look show as new ends on the
      // next look, however soon it comes.
      if (lag === 0 && ends === previous) {
        if (timings() && lastBusy.size > 0) process.stderr.write(`  busy until ${[...lastBusy].sort((a, b) => b[1] - a[1]).map(([g, ms]) => `${g.replace(/^lifecycle-/, '')} ${Math.round(ms)}`).join(', ')} ms\n`);
        return ends;
      }
      previous = lag === 0 ? ends : '';
      if (Date.now() > deadline) throw new Error(`the pipeline did not take in its input within ${Math.round(timeoutMs / 1000)} s (${behind} records behind, ${waiting} outboxes not empty)`);
      await pause(lag === 0 ? settleMs : delay);
      delay = Math.min(50, delay * 2);
    }
  };

  const walk: ClockWalk = {
    now: async () => new Date((await call(o.serviceToken, `${o.schedulerUrl}/admin/clock`)).now),
    walkTo: async (instant) => {
      await call(o.serviceToken, `${o.schedulerUrl}/admin/clock`, post({ now: instant.toISOString(), walk: true }));
      if (o.ingestionUrl === undefined) return;
      // Ingestion follows the clock the scheduler published: what is sent next is received at `instant`.
      for (let waited = 0; Date.parse((await call(o.serviceToken, `${o.ingestionUrl}/admin/clock`)).now) < instant.getTime(); waited += 5) {
        if (waited > 30_000) throw new Error(`ingestion's clock did not follow the scheduler's to ${instant.toISOString()} within 30 s`);
        await pause(5);
      }
    },
    waitUntilTakenIn: async (only) => {
      await takenIn(only);
    },
    fire: async () => {
      // Until a firing settles nothing new: what one sets off (a silence timer making a customer
      // at risk, whose win-back came due earlier that day) fires in the same step, as a clock
      // moving second by second would have fired it, not whenever the next step comes. A round
      // whose firing published nothing on the topics of what it sets off (`firingGroups`) can
      // have made nothing else due: no further round is needed.
      let total = 0;
      const rounds: string[] = [];
      let before = (await lagAndEnds(admin, o.topicPrefix, firingGroups)).ends;
      for (let round = 0; round < 10; round++) {
        const r0 = performance.now();
        const fired = (await call(o.serviceToken, `${o.schedulerUrl}/admin/clock/fire`, post())).fired ?? 0;
        const r1 = performance.now();
        // The firing groups' services include the scheduler: once its outbox is empty too, a
        // reader of messages.requested sees every request this round made.
        const after = await takenIn(firingGroups);
        rounds.push(`${fired}: post ${Math.round(r1 - r0)} ms, taken in ${Math.round(performance.now() - r1)} ms`);
        total += fired;
        if (fired === 0 || after === before) break;
        before = after;
      }
      if (timings()) process.stderr.write(`  fire rounds ${rounds.join(' | ')}\n`);
      return total;
    },
    step: async (instant, send) => {
      const t0 = performance.now();
      await walk.walkTo(instant);
      const t1 = performance.now();
      await send();
      const t2 = performance.now();
      await walk.waitUntilTakenIn();
      const t3 = performance.now();
      const fired = await walk.fire();
      if (timings()) {
        process.stderr.write(`walk step ${instant.toISOString()}: walk ${Math.round(t1 - t0)} ms, send ${Math.round(t2 - t1)} ms, take in ${Math.round(t3 - t2)} ms, fire ${Math.round(performance.now() - t3)} ms (${fired})\n`);
      }
      return fired;
    },
    close: async () => {
      await Promise.all([admin.disconnect(), pool?.end()]);
    },
  };
  return walk;
}
