import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createKafka, createLogger, createPool, type Kafka } from '@lifecycle/kit';
import { benchRun } from '../../tools/src/bench-run.ts';
import { startFakeSendGrid, type FakeSendGrid } from '../../tools/src/fake-sendgrid.ts';
import { repoRoot } from '../../tools/src/kafka-broker.ts';
import { ensureKafka, ensureStackDatabase, ensureStackTopics } from '../../tools/src/local-infra.ts';
import { readStackConfig, serviceCatalog } from '../../tools/src/stack-config.ts';
import { mailReceived, pipelineFleet, sendStatuses, THANK_YOU, thankYouKey, whereIsIt } from '../chaos/pipeline-setup.ts';
import { cleanUpSteps, handleInterrupts, numberFlag, runThenExit, sharedRunOptions, valueFlags } from '../chaos/run-harness.ts';
import { fleetMembers, type Fleet } from '../chaos/service-fleet.ts';
import { judge, percentile, unfinishedOrders, type MailReceived, type OrderSent } from '../chaos/verdict.ts';
import { achievedRate, e2eLine, fellShort, lostAndDoubled, sessionStates, stageLatencies, type OrderTrace, type SessionSample } from './e2e-summary.ts';
import { streamEvents, type EventLoad } from './event-load.ts';
import { defaultMix, eventKinds, parseMix } from './event-mix.ts';
import { consumerLag, databaseSessions, processCpuSeconds, processMemory } from './process-probes.ts';

/**
 * `pnpm bench:e2e [--rate 1000] [--seconds 300] [--replicas 1] …`: the four services as separate
 * processes (`node services/<name>/src/main.ts`, as in production) on the local broker (or
 * KAFKA_BROKERS) and PostgreSQL, in a database and topic prefix of the run's own (dropped at the
 * end), with the fake SendGrid and a campaigns folder with only the thank-you, due at once. A
 * steady mix of Segment calls goes to `POST /v1/batch`; for every order it measures the time from
 * the HTTP call to the thank-you's `POST /v3/mail/send`, and it samples each service process's
 * memory and each consumer group's lag. Once the pipeline has drained it checks that every order
 * got exactly one thank-you, prints where the time went, and ends with the one line
 * `e2e <rate> events/s for <s> s: order→send p50 …` (exit 1 on a lost or doubled mail).
 */

const WRITE_KEY = 'bench-e2e-write-key';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    ...valueFlags({ rate: '1000', seconds: '300', mix: defaultMix, customers: '50000', replicas: '1', batch: '15', 'flush-ms': '10000', 'max-posts': '4', 'drain-seconds': '3600', 'stall-seconds': '120', 'send-concurrency': '32', 'sends-per-second': '100000' }),
    ...sharedRunOptions,
  },
});

const usage = `Usage: pnpm bench:e2e [options]
  --rate R              events per second posted (default 1000)
  --seconds S           how long the load lasts (default 300)
  --mix M               shares of the calls (default ${defaultMix}):
                        orders (Order Completed), views (Product Viewed), carts (Product Added),
                        identifies (identify with traits)
  --customers N         the events are spread over N customers (default 50000)
  --replicas N          processes of each service, each on its own port (default 1); the
                        load goes round-robin to the ingestion processes
  --batch N             events per POST /v1/batch, as analytics-node's flushAt (default 15)
  --flush-ms MS         a batch not full goes out MS after its first event (default 10000)
  --max-posts N         posts of a batch answered 5xx or not at all before the client gives it
                        up, as analytics-node does after its 3 retries (default 4; 0: never)
  --provider-latency MS the fake SendGrid answers after MS ms (default 100, about SendGrid's own)
  --send-concurrency N  messaging's SEND_CONCURRENCY, sends in flight per process (default 32; the
                        service's own default is 8, which at 100 ms a call caps a process at 80/s)
  --sends-per-second N  messaging's SENDGRID_SENDS_PER_SECOND (default 100000: out of the way; the
                        service's own default, 100, stands for a SendGrid plan's limit)
  --drain-seconds S     how long to wait for the last mails after the load (default 3600)
  --stall-seconds S     give up waiting sooner when no mail arrives and no lag moves for S s (default 120)
  --log-level L         the services' LOG_LEVEL (default info); logs in .local/bench-e2e/<run>/
  --keep                keep the run's folder (logs, report) even when it passes
Environment: KAFKA_BROKERS (default: the local broker at 127.0.0.1:9092, started if needed),
DATABASE_URL (the server; the run creates and drops a database of its own), TOPIC_PARTITIONS
(partitions of the run's topics, e.g. 6 or commerce.events=12).`;

const number = numberFlag(usage);

if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const settings = {
  rate: number('rate', args.rate, 0.1),
  durationMs: number('seconds', args.seconds, 1) * 1000,
  customers: Math.round(number('customers', args.customers, 1)),
  sendConcurrency: Math.round(number('send-concurrency', args['send-concurrency'], 1)),
  sendsPerSecond: Math.round(number('sends-per-second', args['sends-per-second'], 1)),
  replicas: Math.round(number('replicas', args.replicas, 1)),
  batchSize: Math.min(500, Math.round(number('batch', args.batch, 1))),
  flushMs: number('flush-ms', args['flush-ms'], 1),
  maxPosts: Math.round(number('max-posts', args['max-posts'], 0)) || Number.POSITIVE_INFINITY,
  providerLatencyMs: number('provider-latency', args['provider-latency'], 0),
  drainMs: number('drain-seconds', args['drain-seconds'], 1) * 1000,
  stallMs: number('stall-seconds', args['stall-seconds'], 1) * 1000,
};
let mix: ReturnType<typeof parseMix>;
try {
  mix = parseMix(args.mix);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
  process.exit(2);
}

const runStartedAt = Date.now();
const say = (line: string): void => {
  const elapsed = ((Date.now() - runStartedAt) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`e2e ${elapsed}s  ${line}\n`);
};
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const secs = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s` : '–');
const mb = (kb: number): string => `${Math.round(kb / 1024)} MB`;

const stack = readStackConfig(process.env);
const run = benchRun(process.env);
const runDir = join(repoRoot, '.local', 'bench-e2e', run.runId);
mkdirSync(runDir, { recursive: true });
const services: string[] = serviceCatalog.map((s) => s.name);

// Everything the run starts, for the one way out.
let fleet: Fleet | undefined;
let sendgrid: FakeSendGrid | undefined;
let observer: ReturnType<typeof createPool> | undefined;
let brokers: string[] = [];
let kafka: Kafka | undefined;
const stop = handleInterrupts(say, () => fleet?.killNow());
/** The report, printed after the clean-up so that its line is the run's last. */
let report: string | undefined;

function checkpoint(): void {
  if (stop.signal.aborted) throw new Error('interrupted');
}

/** What the probes saw, per process (`ingestion`, `ingestion-2` …) and per consumer group. */
const memory = new Map<string, { service: string; peakKb: number; rssKb: number }>();
const cpuAtLoadStart = new Map<string, number>();
const cpuSeconds = new Map<string, { service: string; seconds: number }>();
const groupLag = new Map<string, { service: string; max: number; maxAt: number; last: number }>();
const lagTimeline: { at: number; byService: Record<string, number> }[] = [];
const loads: number[] = [];

async function sampleMemory(): Promise<void> {
  for (const p of fleet?.running() ?? []) {
    const seen = await processMemory(p.pid);
    if (seen === undefined) continue;
    const before = memory.get(p.id);
    memory.set(p.id, { service: p.service, peakKb: Math.max(before?.peakKb ?? 0, seen.peakKb, seen.rssKb), rssKb: seen.rssKb });
  }
  loads.push(loadavg()[0] ?? 0);
}

async function sampleCpu(into: (id: string, service: string, seconds: number) => void): Promise<void> {
  for (const p of fleet?.running() ?? []) {
    const seconds = await processCpuSeconds(p.pid);
    if (seconds !== undefined) into(p.id, p.service, seconds);
  }
}

const sessions: SessionSample[] = [];
/** CPU seconds of each database backend of the run, when first and last seen. */
const backendCpu = new Map<number, { app: string; first: number; last: number }>();
async function sampleDatabase(): Promise<void> {
  if (observer === undefined) return;
  for (const session of await databaseSessions(observer)) {
    sessions.push(session);
    const seconds = await processCpuSeconds(session.pid);
    if (seconds === undefined) continue;
    const before = backendCpu.get(session.pid);
    backendCpu.set(session.pid, { app: session.app, first: before?.first ?? seconds, last: seconds });
  }
}

let lagAdmin: ReturnType<Kafka['admin']> | undefined;
async function sampleLag(): Promise<void> {
  if (kafka === undefined) return;
  if (lagAdmin === undefined) {
    lagAdmin = kafka.admin();
    await lagAdmin.connect();
  }
  const byService: Record<string, number> = {};
  for (const { group, service, lag } of await consumerLag(lagAdmin, run.topicPrefix, services)) {
    const before = groupLag.get(group);
    const now = Date.now();
    groupLag.set(group, { service, max: Math.max(before?.max ?? 0, lag), maxAt: lag > (before?.max ?? -1) ? now : (before?.maxAt ?? now), last: lag });
    byService[service] = Math.max(byService[service] ?? 0, lag);
  }
  lagTimeline.push({ at: Date.now(), byService });
}

/** Runs `probe` every `everyMs` until stopped; a failed sample is skipped, not fatal. */
function every(everyMs: number, probe: () => Promise<void>): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      await probe().catch((err: unknown) => say(`a sample failed: ${err instanceof Error ? err.message : String(err)}`));
      await sleep(everyMs, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) return;
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

const lagLine = (byService: Record<string, number> | undefined): string => services.map((s) => `${s} ${int(byService?.[s] ?? 0)}`).join(', ');

/** The orders' way through the pipeline, from the services' own rows (read by the bench, not by any service). */
async function traces(load: EventLoad, mails: readonly MailReceived[]): Promise<OrderTrace[]> {
  const client = observer;
  if (client === undefined) return [];
  const ms = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;
  const ingested = await client.query<{ message_id: string; at: number }>(`SELECT message_id, ${ms('first_seen_at')} AS at FROM ingestion.seen_messages WHERE message_id = ANY($1)`, [load.orders.map((o) => o.messageId)]);
  const jobs = await client.query<{ dedupe_key: string; created: number; fired: number | null }>(`SELECT dedupe_key, ${ms('created_at')} AS created, ${ms('fired_at')} AS fired FROM scheduler.jobs WHERE campaign_id = $1`, [THANK_YOU]);
  const sends = await client.query<{ dedupe_key: string; claimed: number }>(`SELECT dedupe_key, ${ms('claimed_at')} AS claimed FROM messaging.sends WHERE campaign_id = $1`, [THANK_YOU]);
  const ingestedAt = new Map(ingested.rows.map((r) => [r.message_id, r.at]));
  const jobAt = new Map(jobs.rows.map((r) => [r.dedupe_key, r]));
  const claimedAt = new Map(sends.rows.map((r) => [r.dedupe_key, r.claimed]));
  const mailedAt = new Map<string, number>();
  for (const m of mails) if (m.dedupeKey !== undefined && !mailedAt.has(m.dedupeKey)) mailedAt.set(m.dedupeKey, m.receivedAt);
  return load.orders.map((o) => {
    const key = thankYouKey(o.customerId, o.orderId);
    const job = jobAt.get(key);
    return { posted: o.batch.firstPostedAt, ingested: ingestedAt.get(o.messageId), jobCreated: job?.created, jobFired: job?.fired ?? undefined, sendClaimed: claimedAt.get(key), mailed: mailedAt.get(key) };
  });
}

async function main(): Promise<number> {
  say(`run ${run.runId}: ${settings.rate} events/s for ${settings.durationMs / 1000} s, ${settings.replicas} process(es) per service, messaging SEND_CONCURRENCY ${settings.sendConcurrency}, SENDGRID_SENDS_PER_SECOND ${settings.sendsPerSecond}; logs in ${relative(repoRoot, runDir)}/`);
  ({ brokers } = await ensureKafka(stack.brokersFromEnv, say));
  kafka = createKafka({ clientId: 'bench-e2e', brokers, logger: createLogger('bench-e2e', 'silent') });
  await ensureStackDatabase(run.databaseUrl);
  checkpoint();
  const layout = await ensureStackTopics(brokers, run.topicPrefix, stack.topicSettings);
  checkpoint();
  observer = createPool(run.databaseUrl, 2);
  // DROP DATABASE … WITH (FORCE) at the end may reach a connection pg-pool is still closing.
  observer.on('error', () => undefined);

  const mails: MailReceived[] = [];
  sendgrid = await startFakeSendGrid({ keepRequests: false, onAccepted: (request) => mails.push(mailReceived(request)) });
  sendgrid.respondAfter(settings.providerLatencyMs);

  const members = await fleetMembers(settings.replicas);
  fleet = pipelineFleet({
  members,
  brokers,
  databaseUrl: run.databaseUrl,
  topicPrefix: run.topicPrefix,
  logLevel: args['log-level'],
  writeKey: WRITE_KEY,
  sendgridUrl: sendgrid.url,
  runDir,
  note: say,
  signal: stop.signal,
  extraEnv: { SEND_CONCURRENCY: String(settings.sendConcurrency), SENDGRID_SENDS_PER_SECOND: String(settings.sendsPerSecond) },
});
  say(`starting ${members.length} service processes on ${brokers.join(',')}`);
  await fleet.start(300_000);
  checkpoint();
  say('every service is ready');

  const stopMemory = every(2_000, sampleMemory);
  const stopLag = every(5_000, sampleLag);
  const stopDatabase = every(1_000, sampleDatabase);
  await sampleCpu((id, _service, seconds) => cpuAtLoadStart.set(id, seconds));
  const ingestions = members.filter((m) => m.service === 'ingestion').map((m) => m.id);
  let nextIngestion = 0;
  const selfCpuAtStart = process.cpuUsage();
  const load = streamEvents({
    baseUrl: () => fleet?.url(ingestions[nextIngestion++ % ingestions.length] ?? 'ingestion') ?? '',
    writeKey: WRITE_KEY,
    runId: run.runId,
    rate: settings.rate,
    durationMs: settings.durationMs,
    mix,
    customers: settings.customers,
    batchSize: settings.batchSize,
    flushMs: settings.flushMs,
    maxPosts: settings.maxPosts,
    signal: stop.signal,
  });
  const progress = setInterval(() => {
    const elapsed = (Date.now() - load.startedAt) / 1000;
    const memoryLine = services.map((s) => `${s} ${mb(Math.max(0, ...[...memory.values()].filter((m) => m.service === s).map((m) => m.rssKb)))}`).join(', ');
    say(
      `events accepted ${int(load.acceptedEvents())} (${int(load.acceptedEvents() / Math.max(1, elapsed))}/s), in flight ${load.inFlight()}, orders ${int(load.orders.length)}, mails ${int(mails.length)}; ` +
        `lag ${lagLine(lagTimeline.at(-1)?.byService)}; RSS ${memoryLine}; load ${loadavg()[0]?.toFixed(1)}`,
    );
  }, 15_000);
  try {
    await load.done;
  } finally {
    clearInterval(progress);
  }
  checkpoint();
  const selfCpu = process.cpuUsage(selfCpuAtStart);
  const loadEndedAt = Date.now();
  const lastAcceptedAt = Math.max(...load.batches.map((b) => b.acceptedAt ?? 0));
  const accepted = load.acceptedEvents();
  const rate = achievedRate({ acceptedEvents: accepted, startedAt: load.startedAt, lastAcceptedAt, durationMs: settings.durationMs });
  const lagAtLoadEnd = new Map([...groupLag.entries()].map(([group, g]) => [group, g.last]));
  say(`load done: ${int(accepted)} events accepted in ${secs(lastAcceptedAt - load.startedAt)} (${int(rate)}/s), ${int(load.orders.length)} orders, ${int(mails.length)} mails so far`);

  const orders: OrderSent[] = load.orders.map((o) => ({ orderId: o.orderId, dedupeKey: thankYouKey(o.customerId, o.orderId), firstPostedAt: o.batch.firstPostedAt }));
  const finalWithoutMail = ['doubtful', 'failed', 'suppressed'];
  const acceptedOrders = new Set(load.orders.filter((o) => o.batch.acceptedAt !== undefined).map((o) => o.orderId));
  const ordersIn = orders.filter((o) => acceptedOrders.has(o.orderId));
  let finals = new Map<string, string>();
  let drained: 'drained' | 'deadline' | 'stalled' = 'deadline';
  let drainedAt = Date.now();
  let lastProgressAt = Date.now();
  let lastMails = mails.length;
  let lastLag = '';
  let lastSay = 0;
  let lastFinals = 0;
  while (!stop.signal.aborted) {
    if (Date.now() - lastFinals > 10_000) {
      finals = await sendStatuses(observer, finalWithoutMail);
      lastFinals = Date.now();
    }
    // An order whose batch the client gave up may never come; it is not waited for.
    const open = unfinishedOrders(ordersIn, mails, finals);
    if (open.length === 0) {
      drained = 'drained';
      drainedAt = Date.now();
      break;
    }
    const lagNow = JSON.stringify(lagTimeline.at(-1)?.byService ?? {});
    if (mails.length !== lastMails || lagNow !== lastLag) lastProgressAt = Date.now();
    lastMails = mails.length;
    lastLag = lagNow;
    if (Date.now() - lastProgressAt > settings.stallMs) {
      drained = 'stalled';
      break;
    }
    if (Date.now() - loadEndedAt > settings.drainMs) break;
    if (Date.now() - lastSay > 15_000) {
      lastSay = Date.now();
      say(`draining: ${int(open.length)} orders without a mail; lag ${lagLine(lagTimeline.at(-1)?.byService)}; load ${loadavg()[0]?.toFixed(1)}`);
    }
    await sleep(1_000, undefined, { signal: stop.signal }).catch(() => undefined);
  }
  checkpoint();
  // A late second mail (a redelivery after the drain) must still be counted.
  say(`${drained}; watching 5 s more for late mails`);
  await sleep(5_000, undefined, { signal: stop.signal }).catch(() => undefined);
  checkpoint();
  await Promise.all([stopMemory(), stopLag(), stopDatabase()]);
  await sampleMemory();
  await sampleLag().catch(() => undefined);
  await sampleCpu((id, service, seconds) => cpuSeconds.set(id, { service, seconds: seconds - (cpuAtLoadStart.get(id) ?? 0) }));
  const windowS = (Date.now() - load.startedAt) / 1000;

  const verdict = judge(orders, mails, await sendStatuses(observer));
  const { lost, doubled, refused } = lostAndDoubled(verdict, new Set(load.orders.filter((o) => o.batch.acceptedAt === undefined).map((o) => o.orderId)));
  const stages = stageLatencies(await traces(load, mails));
  const notes: string[] = [];
  for (const orderId of [...verdict.missing, ...verdict.excused].slice(0, 10)) {
    const order = load.orders.find((o) => o.orderId === orderId && o.batch.acceptedAt !== undefined);
    if (order !== undefined) notes.push(`  ${orderId}: ${await whereIsIt(observer, { ...order.batch, messageId: order.messageId, customerId: order.customerId }, thankYouKey(order.customerId, order.orderId))}`);
  }
  const httpAnswers = load.batches.flatMap((b) => (b.acceptedAt === undefined ? [] : [b.acceptedAt - b.firstPostedAt])).sort((a, b) => a - b);
  const maxLag = Math.max(0, ...[...groupLag.values()].map((g) => g.max));
  const serviceOf = (app: string): string | undefined => members.find((m) => m.id === app)?.service;
  const dbStates = sessionStates(sessions, serviceOf);
  const maxRssKb = Math.max(0, ...[...memory.values()].map((m) => m.peakKb));
  const peakLoad = Math.max(...loads, loadavg()[0] ?? 0);
  const stats = load.stats;

  const lines = [
    '',
    `End-to-end bench ${run.runId}, ${new Date(runStartedAt).toISOString()}`,
    `  load        ${settings.rate} events/s for ${settings.durationMs / 1000} s over ${int(settings.customers)} customers: ${eventKinds.map((k) => `${k} ${int(load.counts[k])}`).join(', ')}`,
    `              POST /v1/batch of up to ${settings.batchSize} (flush after ${settings.flushMs} ms), round-robin over ${ingestions.length} ingestion process(es)`,
    `  achieved    ${int(rate)} events/s (${int(accepted)} accepted, the last ${secs(lastAcceptedAt - load.startedAt)} after the start)${fellShort(settings.rate, rate) ? `: SHORT of the ${settings.rate} asked for` : ''}`,
    `  posts       ${int(stats.posted)} for ${int(load.batches.length)} batches: ${stats.unavailable} answered 5xx, ${stats.connectionErrors} without an answer, ${stats.refused} refused (4xx), ${stats.gaveUp} given up${Number.isFinite(settings.maxPosts) ? ` after ${settings.maxPosts} posts` : ''}; answer p50 ${secs(percentile(httpAnswers, 50))}, p99 ${secs(percentile(httpAnswers, 99))}`,
    `  generator   ${((100 * (selfCpu.user + selfCpu.system)) / 1e6 / ((loadEndedAt - load.startedAt) / 1000)).toFixed(1)} % of one core during the load (mails and probes included); batches went out at most ${int(load.maxLateMs())} ms after due`,
    `  machine     ${cpus().length} vCPUs, load average ${(loads[0] ?? 0).toFixed(1)} at the start, ${peakLoad.toFixed(1)} at the most, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
    `  topics      ${layout.planned.find((t) => t.catalogName === 'commerce.events')?.partitions ?? '?'} partitions of commerce.events (TOPIC_PARTITIONS to change)`,
    `  drain       ${drained === 'drained' ? `every order done ${secs(drainedAt - loadEndedAt)} after the load ended` : `${drained.toUpperCase()}: gave up ${secs(Date.now() - loadEndedAt)} after the load ended`}`,
    '',
    `  orders      ${int(verdict.orders)}, mails ${int(verdict.mails)}, lost ${lost}, doubled ${doubled}, stray ${verdict.stray}, doubtful sends ${verdict.doubtful}` +
      (refused > 0 ? `; ${int(refused)} more without a mail were never accepted (the client gave up their batch: ingestion refused it)` : ''),
    `  order→send  p50 ${secs(verdict.latencyMs.p50)}, p99 ${secs(verdict.latencyMs.p99)}, max ${secs(verdict.latencyMs.max)} (from the HTTP call that carried the order)`,
    '  stages      p50 / p99 of each step, from the services\' rows:',
    ...stages.map((s) => `    ${s.stage.padEnd(38)} ${secs(s.p50).padStart(8)} / ${secs(s.p99).padStart(8)}  (${int(s.count)} orders)`),
    '  services    peak RSS; CPU during load and drain (share of one core); its PostgreSQL sessions\' CPU, and what they were doing (share of 1 s samples)',
    ...services.map((s) => {
      const procs = [...memory.entries()].filter(([, m]) => m.service === s);
      const cpu = [...cpuSeconds.values()].filter((c) => c.service === s).reduce((sum, c) => sum + c.seconds, 0);
      const dbCpu = [...backendCpu.values()].filter((b) => serviceOf(b.app) === s).reduce((sum, b) => sum + b.last - b.first, 0);
      const states = dbStates.get(s)?.states.slice(0, 4).map(([state, share]) => `${state} ${(100 * share).toFixed(0)} %`).join(', ') ?? 'no sessions seen';
      return (
        `    ${s.padEnd(11)} ${procs.map(([id, m]) => `${procs.length > 1 ? `${id} ` : ''}${mb(m.peakKb)}`).join(', ')}; CPU ${int(cpu)} s (${((100 * cpu) / windowS).toFixed(0)} %); ` +
        `PostgreSQL CPU ${int(dbCpu)} s (${((100 * dbCpu) / windowS).toFixed(0)} %): ${states}`
      );
    }),
    '  lag         records behind per consumer group: the most (seconds after the load started), at the end of the load',
    ...[...groupLag.entries()]
      .sort((a, b) => services.indexOf(a[1].service) - services.indexOf(b[1].service) || a[0].localeCompare(b[0]))
      .map(([group, g]) => `    ${group.padEnd(34)} ${int(g.max).padStart(9)} (+${secs(g.maxAt - load.startedAt)}), ${int(lagAtLoadEnd?.get(group) ?? 0)}`),
    ...(notes.length > 0 ? ['  lost orders (first 10):', ...notes] : []),
    '',
  ];
  const text = lines.join('\n');
  const line = e2eLine({ rate, seconds: settings.durationMs / 1000, p50Ms: verdict.latencyMs.p50, p99Ms: verdict.latencyMs.p99, lost, doubled, maxRssMb: maxRssKb / 1024, maxLag });
  say('stopping the services (SIGTERM)');
  await fleet.stop(15_000);
  report = `${text}\n${line}\n`;
  writeFileSync(join(runDir, 'report.txt'), report);
  return lost === 0 && doubled === 0 && verdict.stray === 0 ? 0 : 1;
}

async function cleanUp(keep: boolean): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [
    ['services', async () => fleet?.stop(15_000)],
    ['fake SendGrid', async () => sendgrid?.close()],
    ['lag probe', async () => lagAdmin?.disconnect()],
    ['database pool', async () => observer?.end()],
    ['database and topics', async () => (kafka === undefined ? undefined : run.cleanUp(kafka))],
  ];
  await cleanUpSteps(steps, say);
  if (keep) say(`logs and report kept in ${relative(repoRoot, runDir)}/`);
  else rmSync(runDir, { recursive: true, force: true });
}

await runThenExit({ main, stop, say, cleanUp: (code) => cleanUp(args.keep || code !== 0), last: () => report });
