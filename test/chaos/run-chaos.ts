import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createKafka, createLogger, createPool, ensureDatabase } from '@lifecycle/kit';
import { topicName } from '@lifecycle/contracts';
import { startFakeSendGrid, type FakeSendGrid } from '../../tools/src/fake-sendgrid.ts';
import { clusterNodeSpecs, partitionLeaders, portAnswers, repoRoot, startKafkaCluster, type KafkaCluster } from '../../tools/src/kafka-broker.ts';
import { ensureStackTopics } from '../../tools/src/local-infra.ts';
import { serviceCatalog } from '../../tools/src/stack-config.ts';
import { startTcpProxy, type TcpProxy } from '../../tools/src/tcp-proxy.ts';
import { planFaults, type PlannedFault } from './fault-plan.ts';
import { streamOrders, type StreamStats } from './order-stream.ts';
import { mailReceived, pipelineFleet, sendStatuses, thankYouKey, whereIsIt } from './pipeline-setup.ts';
import { cleanUpSteps, handleInterrupts, numberFlag, runThenExit, sharedRunOptions, valueFlags } from './run-harness.ts';
import { fleetMembers, type Fleet } from './service-fleet.ts';
import { judge, unfinishedOrders, type MailReceived, type OrderSent, type Verdict } from './verdict.ts';

/**
 * `pnpm test:chaos [--minutes 2] [--rate 10] [--database-cut 20]`: the four services as
 * processes on a three-node local Kafka cluster of the run's own (ports 29092–29097), a database
 * and topic prefix of its own and the fake SendGrid. Orders stream in over the Segment HTTP API
 * while each service in turn and then a partition leader are SIGKILLed and started again (and,
 * with `--database-cut S`, PostgreSQL is cut for S seconds mid-run). Once the pipeline has
 * drained it checks that every order got exactly one thank-you, a `doubtful` send being the only
 * excuse for none, and exits 1 otherwise. Not part of `pnpm test`: it takes minutes.
 */

const WRITE_KEY = 'chaos-write-key';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    ...valueFlags({
      minutes: '2',
      rate: '10',
      'database-cut': '0',
      customers: '200',
      'drain-minutes': '5',
      'first-port': '29092',
      'service-down': '2',
      'broker-down': '10',
      'broker-topic': 'commerceEvents',
    }),
    ...sharedRunOptions,
  },
});

const usage = `Usage: pnpm test:chaos [options]
  --minutes M          how long orders stream in (default 2)
  --rate R             orders per second (default 10)
  --database-cut S     cut PostgreSQL for S seconds mid-run (default 0: no cut)
  --customers N        orders are spread over N customers (default 200)
  --drain-minutes M    how long to wait for the last mails after the stream (default 5)
  --first-port P       the cluster's first broker port; nodes use P … P+5 (default 29092)
  --service-down S     seconds a killed service stays down (default 2)
  --broker-down S      seconds the killed broker stays down (default 10)
  --broker-topic T     the broker killed leads partition 0 of this topic: commerceEvents
                       or messagesRequested (default commerceEvents)
  --provider-latency MS the fake SendGrid answers after MS ms (default 100, about SendGrid's own),
                       so a killed messaging can leave a send whose answer it never got
  --log-level L        the services' LOG_LEVEL (default info); logs in .local/chaos/<run>/
  --keep               keep the run's folder (logs, Kafka data) even when it passes`;

const number = numberFlag(usage);

if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const brokerTopicKey = args['broker-topic'];
if (brokerTopicKey !== 'commerceEvents' && brokerTopicKey !== 'messagesRequested') {
  process.stderr.write(`--broker-topic must be commerceEvents or messagesRequested\n${usage}\n`);
  process.exit(2);
}
const settings = {
  durationMs: number('minutes', args.minutes, 0.1) * 60_000,
  rate: number('rate', args.rate, 0.1),
  databaseCutMs: number('database-cut', args['database-cut'], 0) * 1000,
  customers: Math.round(number('customers', args.customers, 1)),
  drainMs: number('drain-minutes', args['drain-minutes'], 0.1) * 60_000,
  firstPort: Math.round(number('first-port', args['first-port'], 1024)),
  serviceDownMs: number('service-down', args['service-down'], 0) * 1000,
  brokerDownMs: number('broker-down', args['broker-down'], 0) * 1000,
  providerLatencyMs: number('provider-latency', args['provider-latency'], 0),
};

const runStartedAt = Date.now();
const loadAtStart = loadavg()[0] ?? 0;
const runId = `chaos_${runStartedAt.toString(36)}${randomBytes(2).toString('hex')}`;
const runDir = join(repoRoot, '.local', 'chaos', runId);
const kafkaDir = join(runDir, 'kafka');
mkdirSync(runDir, { recursive: true });

const say = (line: string): void => {
  const elapsed = ((Date.now() - runStartedAt) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`chaos ${elapsed}s  ${line}\n`);
};

const seconds = (ms: number | undefined): string => (ms === undefined || Number.isNaN(ms) ? '–' : `${(ms / 1000).toFixed(1)} s`);

// Everything the run starts, for the one way out.
let fleet: Fleet | undefined;
let cluster: KafkaCluster | undefined;
let proxy: TcpProxy | undefined;
let sendgrid: FakeSendGrid | undefined;

/** SIGKILLs the run's brokers by their pid files, synchronously: for a second Ctrl-C or a crash. */
function killBrokersNow(): void {
  if (!existsSync(kafkaDir)) return;
  for (const node of readdirSync(kafkaDir).filter((f) => /^node-\d+$/.test(f))) {
    const pidFile = join(kafkaDir, node, 'broker.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const cmdline = `/proc/${pid}/cmdline`;
    if (!Number.isInteger(pid) || pid <= 0 || (existsSync('/proc') && !(existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes(kafkaDir)))) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const stop = handleInterrupts(say, () => {
  fleet?.killNow();
  killBrokersNow();
});

interface FaultRecord {
  fault: PlannedFault;
  startedAt: number;
  description: string;
  /** How long until what was taken away worked again, as seen from outside. */
  recoveredAfterMs?: number;
  /** What "working again" means for this fault, for the report. */
  outcome?: string;
  /** The orders posted until it worked again, and their mails' latency. */
  meanwhile?: string;
  error?: string;
}

async function leaderOfPartitionZero(topic: string): Promise<{ leader: number; ledHere: string[] }> {
  if (cluster === undefined) throw new Error('no cluster');
  const { leader, ledBy } = await partitionLeaders(cluster.brokers, topic, 0);
  return { leader, ledHere: (ledBy.get(leader) ?? []).filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length)) };
}

async function runFault(fault: PlannedFault, record: FaultRecord): Promise<void> {
  if (fleet === undefined || cluster === undefined || proxy === undefined) throw new Error('not set up');
  switch (fault.kind) {
    case 'service': {
      const name = serviceCatalog.find((s) => s.name === fault.target)?.name;
      if (name === undefined) throw new Error(`no service ${fault.target}`);
      record.description = `SIGKILL ${name}, same command again after ${fault.downMs / 1000} s`;
      const { downForMs } = await fleet.crash(name, fault.downMs, 180_000);
      record.recoveredAfterMs = downForMs;
      record.outcome = `ready again ${seconds(downForMs)} after the kill`;
      return;
    }
    case 'broker': {
      const { leader, ledHere } = await leaderOfPartitionZero(fault.target);
      const node = cluster.nodes.find((n) => n.nodeId === leader);
      if (node === undefined) throw new Error(`no node ${leader} in the cluster`);
      record.description = `SIGKILL broker ${leader} (${node.address}), leader of ${ledHere.length} partitions incl. ${fault.target.slice(prefix.length)}-0; started again after ${fault.downMs / 1000} s`;
      say(`broker ${leader} leads ${ledHere.join(', ')}`);
      const killedAt = Date.now();
      await node.kill();
      say(`broker ${leader}: SIGKILL`);
      await sleep(fault.downMs, undefined, { signal: stop.signal }).catch(() => undefined);
      await node.start();
      record.recoveredAfterMs = Date.now() - killedAt;
      record.outcome = `back in the cluster ${seconds(record.recoveredAfterMs)} after the kill`;
      say(`broker ${leader}: back in the cluster ${(record.recoveredAfterMs / 1000).toFixed(1)} s after the kill`);
      return;
    }
    case 'database': {
      record.description = `PostgreSQL cut for ${fault.downMs / 1000} s (every connection dropped, new ones refused)`;
      await proxy.cut();
      say('database: cut');
      await sleep(fault.downMs, undefined, { signal: stop.signal }).catch(() => undefined);
      await proxy.restore();
      say('database: restored');
      const restoredAt = Date.now();
      // Back when every service says it is ready again (their checks include the database).
      while (!stop.signal.aborted && !(await fleet.allReady()) && Date.now() - restoredAt < 120_000) await sleep(500);
      record.recoveredAfterMs = Date.now() - record.startedAt;
      record.outcome = `every service ready ${seconds(Date.now() - restoredAt)} after the restore`;
      say(`database: ${record.outcome}`);
      return;
    }
  }
}

/** A connection straight to PostgreSQL, not through the proxy the services use. */
let observer: ReturnType<typeof createPool> | undefined;
function observe(): ReturnType<typeof createPool> {
  if (observer === undefined) {
    observer = createPool(runDatabase.toString(), 2);
    // DROP DATABASE … WITH (FORCE) at the end may reach a connection pg-pool is still closing.
    observer.on('error', () => undefined);
  }
  return observer;
}

/**
 * For orders accepted over HTTP that ingestion never recorded: whether their call is on
 * `commerce.events` at all (lost between the broker's acknowledgement and the log, or skipped by
 * the consumer), read from the start with a group of its own, and ingestion's committed offsets.
 */
async function onCommerceEvents(messageIds: string[]): Promise<string[]> {
  if (cluster === undefined || messageIds.length === 0) return [];
  const kafka = createKafka({ clientId: 'chaos-forensics', brokers: cluster.brokers, logger: createLogger('chaos', 'silent') });
  const topic = topicName(prefix, 'commerceEvents');
  const wanted = new Set(messageIds);
  const found = new Map<string, string[]>();
  const consumer = kafka.consumer({ groupId: `${prefix}chaos-forensics` });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
    let read = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        read += 1;
        const text = message.value?.toString('utf8') ?? '';
        for (const id of wanted) if (text.includes(`"${id}"`)) found.set(id, [...(found.get(id) ?? []), `${partition}@${message.offset}`]);
      },
    });
    const deadline = Date.now() + 60_000;
    while (read < total && Date.now() < deadline) await sleep(500);
    const [committed] = await admin.fetchOffsets({ groupId: `${prefix}lifecycle-ingestion`, topics: [topic] });
    const offsets = committed?.partitions.map((p) => `${p.partition}:${p.offset}`).join(' ') ?? '?';
    const ledger = ends.map((p) => `${p.partition}:${p.high}`).join(' ');
    return [
      `commerce.events: ${read} of ${total} records read; end offsets ${ledger}; ingestion committed ${offsets}`,
      ...messageIds.map((id) => `${id} on commerce.events: ${found.get(id)?.join(', ') ?? 'NOT FOUND'}`),
    ];
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function mailsAtProvider(): MailReceived[] {
  return (sendgrid?.accepted() ?? []).map(mailReceived);
}


function report(input: { verdict: Verdict; baseline: Verdict['latencyMs']; stats: StreamStats; faults: FaultRecord[]; fleetEvents: Fleet['events']; stopCodes: Record<string, number | string | null>; drainedAfterMs: number | undefined; notes: string[] }): string {
  const { verdict, stats } = input;
  const timeline = [
    ...input.faults.map((f) => ({ at: f.startedAt, text: [f.description, f.outcome, f.error === undefined ? undefined : `FAILED: ${f.error}`, f.meanwhile].filter((t) => t !== undefined).join('; ') })),
    // A service that died without being killed (a start-up that failed during another fault).
    ...input.fleetEvents.filter((e) => e.what.startsWith('exited by itself')).map((e) => ({ at: e.at, text: `${e.service} ${e.what}` })),
  ];
  const at = (ms: number): string => `+${((ms - loadStartedAt) / 1000).toFixed(1).padStart(6)} s`;
  const lines = [
    '',
    `Chaos run ${runId}, ${new Date(runStartedAt).toISOString()}`,
    `  load        ${settings.rate} orders/s for ${settings.durationMs / 60_000} min over ${settings.customers} customers, POST /v1/track; a 503 or no answer is posted again with the same messageId`,
    `  machine     ${cpus().length} vCPUs, load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]?.toFixed(1)} at the end`,
    `  faults      ${timeline.length === 0 ? 'none' : '(seconds from the first order)'}`,
    ...timeline.sort((a, b) => a.at - b.at).map((e) => `    ${at(e.at)}  ${e.text}`),
    `  posts       ${stats.posted} for ${verdict.orders} orders: ${stats.unavailable} answered 5xx, ${stats.connectionErrors} without an answer, ${stats.refused} refused (4xx)`,
    `  drained     ${input.drainedAfterMs === undefined ? 'NO (deadline passed)' : `${seconds(input.drainedAfterMs)} after the last order was accepted`}`,
    '',
    `  orders      ${verdict.orders}`,
    `  mails       ${verdict.mails}`,
    `  missing     ${verdict.missing.length}${verdict.missing.length === 0 ? '' : `  (${verdict.missing.slice(0, 10).join(', ')}${verdict.missing.length > 10 ? ', …' : ''})`}`,
    `  doubled     ${verdict.doubled.length}${verdict.doubled.length === 0 ? '' : `  (${verdict.doubled.slice(0, 10).map((d) => `${d.orderId} ×${d.mails}`).join(', ')})`}`,
    `  doubtful    ${verdict.doubtful}  (of which without a mail, so excused: ${verdict.excused.length})`,
    `  stray       ${verdict.stray}`,
    `  order→mail  p50 ${seconds(verdict.latencyMs.p50)}, p99 ${seconds(verdict.latencyMs.p99)}, max ${seconds(verdict.latencyMs.max)}` +
      `  (before the first fault, ${input.baseline.count} orders: p50 ${seconds(input.baseline.p50)}, p99 ${seconds(input.baseline.p99)})`,
    `  stopped     ${Object.entries(input.stopCodes).map(([name, code]) => `${name} ${code}`).join(', ')} (SIGTERM after the run; 0 is a clean stop)`,
    ...input.notes.map((n) => `  ${n}`),
    '',
    verdict.ok ? 'PASS: every order got exactly one thank-you (or has a doubtful send)' : 'FAIL: see missing, doubled and stray above',
    // A fault that could not be made leaves the run proving less than it says.
    ...input.faults.filter((f) => f.error !== undefined).map((f) => `FAIL: the fault "${f.description}" could not be made: ${f.error}`),
    '',
  ];
  return lines.join('\n');
}

const databaseServer = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const runDatabase = new URL(databaseServer);
runDatabase.pathname = `/lifecycle_${runId}`;
const prefix = `${runId}.`;
let loadStartedAt = Date.now();

/** Ends the set-up early after a Ctrl-C; the clean-up then removes what was started. */
function checkpoint(): void {
  if (stop.signal.aborted) throw new Error('interrupted');
}

async function main(): Promise<number> {
  say(`run ${runId}: ${settings.rate} orders/s for ${settings.durationMs / 60_000} min${settings.databaseCutMs > 0 ? `, database cut ${settings.databaseCutMs / 1000} s` : ''}; logs in ${relative(repoRoot, runDir)}/`);
  const nodes = clusterNodeSpecs(3, settings.firstPort);
  const busy = (await Promise.all(nodes.flatMap((n) => [n.brokerPort, n.controllerPort]).map(async (p) => ((await portAnswers(p)) ? p : undefined)))).filter((p) => p !== undefined);
  if (busy.length > 0) throw new Error(`ports ${busy.join(', ')} are taken (a chaos run still going?); choose others with --first-port`);

  sendgrid = await startFakeSendGrid();
  sendgrid.respondAfter(settings.providerLatencyMs);
  proxy = await startTcpProxy({ host: databaseServer.hostname, port: Number(databaseServer.port || 5432) });
  await ensureDatabase(runDatabase.toString());
  checkpoint();
  say('starting a three-node Kafka cluster');
  cluster = await startKafkaCluster({ nodes, dataRoot: kafkaDir, log: (line) => say(line), timeoutMs: 180_000 });
  checkpoint();
  await ensureStackTopics(cluster.brokers, prefix);
  checkpoint();

  const viaProxy = new URL(runDatabase);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const names = serviceCatalog.map((s) => s.name);
  fleet = pipelineFleet({
    members: await fleetMembers(1),
    brokers: cluster.brokers,
    databaseUrl: viaProxy.toString(),
    topicPrefix: prefix,
    logLevel: args['log-level'],
    writeKey: WRITE_KEY,
    sendgridUrl: sendgrid.url,
    runDir,
    note: say,
    signal: stop.signal,
  });
  say('starting the four services');
  await fleet.start(180_000);
  checkpoint();
  say('every service is ready');

  const plan = planFaults({
    durationMs: settings.durationMs,
    services: names,
    serviceDownMs: settings.serviceDownMs,
    brokerTopic: topicName(prefix, brokerTopicKey === 'commerceEvents' ? 'commerceEvents' : 'messagesRequested'),
    brokerDownMs: settings.brokerDownMs,
    databaseCutMs: settings.databaseCutMs,
    settleMs: 10_000,
  });
  loadStartedAt = Date.now();
  const stream = streamOrders({ url: () => fleet?.url('ingestion') ?? '', writeKey: WRITE_KEY, runId, rate: settings.rate, durationMs: settings.durationMs, customers: settings.customers, signal: stop.signal });
  const faults: FaultRecord[] = [];
  const faultsDone = Promise.all(
    plan.map(async (fault) => {
      await sleep(Math.max(0, loadStartedAt + fault.atMs - Date.now()), undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) return;
      const record: FaultRecord = { fault, startedAt: Date.now(), description: `${fault.kind} ${fault.target}` };
      faults.push(record);
      try {
        await runFault(fault, record);
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
        say(`${record.description}: ${record.error}`);
      }
    }),
  );
  const progress = setInterval(() => {
    const accepted = stream.stats.accepted;
    say(`orders posted ${stream.orders.length}, accepted ${accepted}, mails ${mailsAtProvider().length}`);
  }, 15_000);
  try {
    await stream.done;
    say(`all ${stream.orders.length} orders posted${stream.orders.every((o) => o.acceptedAt !== undefined) ? ' and accepted' : ''}`);
    await faultsDone;
  } finally {
    clearInterval(progress);
  }
  if (stop.signal.aborted) return 130;

  const orders: OrderSent[] = stream.orders.map((o) => ({ orderId: o.orderId, dedupeKey: thankYouKey(o.customerId, o.orderId), firstPostedAt: o.firstPostedAt }));
  const lastAccepted = Math.max(...stream.orders.map((o) => o.acceptedAt ?? 0));
  const drainDeadline = Date.now() + settings.drainMs;
  let drainedAfterMs: number | undefined;
  let lastSay = 0;
  while (!stop.signal.aborted) {
    const open = unfinishedOrders(orders, mailsAtProvider(), await sendStatuses(observe()));
    if (open.length === 0) {
      drainedAfterMs = Date.now() - lastAccepted;
      break;
    }
    if (Date.now() > drainDeadline) break;
    if (Date.now() - lastSay > 10_000) {
      lastSay = Date.now();
      say(`draining: ${open.length} orders without a mail or a final send`);
    }
    await sleep(1_000, undefined, { signal: stop.signal }).catch(() => undefined);
  }
  if (stop.signal.aborted) return 130;
  // A late second mail (a redelivery after the drain) must still be counted.
  say('drained; watching 10 s more for late mails');
  await sleep(10_000);

  const statuses = await sendStatuses(observe());
  const verdict = judge(orders, mailsAtProvider(), statuses);
  // The same orders' latency with nothing broken yet, to read the figure under chaos against.
  const firstFaultAt = loadStartedAt + (plan[0]?.atMs ?? settings.durationMs);
  const baseline = judge(orders.filter((o) => o.firstPostedAt < firstFaultAt), mailsAtProvider(), statuses).latencyMs;
  for (const fault of faults) {
    const until = fault.startedAt + (fault.recoveredAfterMs ?? fault.fault.downMs);
    const hit = judge(orders.filter((o) => o.firstPostedAt >= fault.startedAt && o.firstPostedAt < until), mailsAtProvider(), statuses).latencyMs;
    if (hit.count > 0) fault.meanwhile = `${hit.count} orders posted meanwhile: mail p50 ${seconds(hit.p50)}, p99 ${seconds(hit.p99)}`;
  }
  const notes: string[] = [];
  for (const orderId of [...verdict.missing.slice(0, 10), ...verdict.excused.slice(0, 5)]) {
    const order = stream.orders.find((o) => o.orderId === orderId);
    const sent = orders.find((o) => o.orderId === orderId);
    if (order !== undefined && sent !== undefined) notes.push(`${orderId}: ${await whereIsIt(observe(), order, sent.dedupeKey)}`);
  }
  const unseen = verdict.missing.flatMap((orderId) => {
    const order = stream.orders.find((o) => o.orderId === orderId);
    return order?.acceptedAt === undefined ? [] : [order.messageId];
  });
  if (unseen.length > 0) notes.push(...(await onCommerceEvents(unseen.slice(0, 10)).catch((err: unknown) => [`could not read commerce.events: ${String(err)}`])));
  const fleetEvents = fleet.events;
  say('stopping the services (SIGTERM)');
  const stopCodes = await fleet.stop(15_000);
  const text = report({ verdict, baseline, stats: stream.stats, faults, fleetEvents, stopCodes, drainedAfterMs, notes });
  process.stdout.write(text);
  writeFileSync(join(runDir, 'report.txt'), text);
  return verdict.ok && faults.every((f) => f.error === undefined) ? 0 : 1;
}

async function cleanUp(keep: boolean, keepKafkaData: boolean): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [
    ['services', async () => fleet?.stop(15_000)],
    ['Kafka cluster', async () => Promise.all((cluster?.nodes ?? []).map((n) => n.kill()))],
    ['database proxy', async () => proxy?.cut()],
    ['fake SendGrid', async () => sendgrid?.close()],
    [
      'database',
      async () => {
        const admin = new URL(databaseServer);
        admin.pathname = '/postgres';
        await observer?.end();
        const client = createPool(admin.toString(), 1);
        try {
          await client.query(`DROP DATABASE IF EXISTS "lifecycle_${runId}" WITH (FORCE)`);
        } finally {
          await client.end();
        }
      },
    ],
  ];
  await cleanUpSteps(steps, say);
  killBrokersNow();
  // A failed run keeps the brokers' logs and data, to read the topics again.
  if (!keepKafkaData) rmSync(kafkaDir, { recursive: true, force: true });
  if (keep) say(`logs and report kept in ${relative(repoRoot, runDir)}/`);
  else rmSync(runDir, { recursive: true, force: true });
}

await runThenExit({ main, stop, say, cleanUp: (code) => cleanUp(args.keep || code !== 0, code !== 0 && code !== 130) });
