import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Admin, DeleteGroupsResult } from 'kafkajs';
import pg from 'pg';
import { adminKafka, ensureKafka } from '../local-infra.ts';
import { defaultBrokerOptions, portAnswers, repoRoot } from '../kafka-broker.ts';
import { startStack } from '../start-stack.ts';
import { consoleProcess, redactUrl, serviceCatalog, serviceUrl, type ServiceName, type StackConfig } from '../stack-config.ts';
import { knownServiceToken, stackServiceToken } from '../stack-secrets.ts';
import { demoMeasurement, writeDemoCampaigns, type DemoCampaigns } from './demo-campaigns.ts';
import { runDemo, type DemoOptions } from './run-demo.ts';
import { dayDate } from './store-simulation.ts';

/**
 * `./lifecycle demo` end to end: with no stack running, it starts one of its own (simulated clock,
 * its own database and topic prefix, both emptied first so a seed always meets the same empty
 * store), plays the demo, and keeps the stack running for the read APIs until Ctrl-C. With a
 * stack running, it plays against that one (which must run a simulated clock).
 */

/** Where a demo's own stack keeps its data. */
export interface DemoStore {
  /** The demo's database, emptied at each start; never the stack's own. */
  databaseUrl: string;
  /** The demo's topics and consumer groups: deleted at each start. */
  topicPrefix: string;
  /** Where its mail lands as `.eml` files: emptied at each start. */
  outboxDir: string;
  /**
   * Where it writes the copy of the campaigns folder its stack runs, measurement turned on
   * (`demo-campaigns.ts`), afresh at each start; unset, beside the outbox.
   */
  campaignsDir?: string;
}

/** The demo's store beside the stack's: database `lifecycle_demo` on the same server, prefix `demo.`. */
export function defaultDemoStore(config: StackConfig): DemoStore {
  const url = new URL(config.databaseUrl);
  url.pathname = '/lifecycle_demo';
  return { databaseUrl: url.toString(), topicPrefix: 'demo.', outboxDir: join(repoRoot, '.local', 'demo-outbox'), campaignsDir: join(repoRoot, '.local', 'demo', 'campaigns') };
}

export type StackPlan = { kind: 'start' } | { kind: 'use-running' } | { kind: 'partial'; answering: ServiceName[]; silent: ServiceName[] };

/** What to do given which services answer on their ports: start a stack when none does, use it when all do. */
export function planDemoStack(answering: readonly ServiceName[]): StackPlan {
  const silent = serviceCatalog.map((s) => s.name).filter((name) => !answering.includes(name));
  if (answering.length === 0) return { kind: 'start' };
  if (silent.length === 0) return { kind: 'use-running' };
  return { kind: 'partial', answering: [...answering], silent };
}

/**
 * Empties the demo's store: drops its database (the stack creates it again), deletes the topics
 * and consumer groups under its prefix, and removes its outbox folder. Refuses an empty prefix and
 * a database without a name of its own, which would take more than the demo's.
 */
export async function resetDemoStore(store: DemoStore, brokers: string[], opts: { groupsTimeoutMs?: number } = {}): Promise<{ topics: number; groups: number }> {
  const database = decodeURIComponent(new URL(store.databaseUrl).pathname.replace(/^\//, ''));
  if (store.topicPrefix === '') throw new Error('the demo resets its own topics: it needs a topic prefix');
  if (database === '' || database === 'postgres') throw new Error(`the demo drops its own database: ${redactUrl(store.databaseUrl)} is not one`);
  const admin = new URL(store.databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }

  const kafka = adminKafka(brokers).admin();
  await kafka.connect();
  try {
    const groups = (await kafka.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(store.topicPrefix));
    if (groups.length > 0) await deleteGroupsOnceLeft(kafka, groups, opts.groupsTimeoutMs ?? 30_000);
    const topics = (await kafka.listTopics()).filter((t) => t.startsWith(store.topicPrefix));
    if (topics.length > 0) await kafka.deleteTopics({ topics, timeout: 30_000 });
    // Deletion finishes in the background; topics of the same names can be created once they are gone.
    const deadline = Date.now() + 30_000;
    while ((await kafka.listTopics()).some((t) => t.startsWith(store.topicPrefix))) {
      if (Date.now() > deadline) throw new Error(`the topics under ${store.topicPrefix} are still being deleted after 30 s; try again in a moment`);
      await new Promise((r) => setTimeout(r, 200));
    }
    rmSync(store.outboxDir, { recursive: true, force: true });
    return { topics: topics.length, groups: groups.length };
  } finally {
    await kafka.disconnect();
  }
}

/**
 * Deletes consumer groups, waiting while some still have members: a stack stopped a moment ago
 * (killed rather than stopped, its members not yet timed out) leaves them for a session timeout.
 */
async function deleteGroupsOnceLeft(admin: Admin, groups: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = groups;
  for (;;) {
    try {
      await admin.deleteGroups(pending);
      return;
    } catch (err) {
      // kafkajs' KafkaJSDeleteGroupsError, told by name: kafkajs is CommonJS without named exports under node.
      const failed: DeleteGroupsResult[] = err instanceof Error && err.name === 'KafkaJSDeleteGroupsError' && 'groups' in err && Array.isArray(err.groups) ? (err.groups as DeleteGroupsResult[]) : [];
      const inUse = failed.filter((g) => g.error?.type === 'NON_EMPTY_GROUP').map((g) => g.groupId);
      if (failed.length === 0 || inUse.length < failed.length) throw err;
      if (Date.now() > deadline) {
        throw new Error(`consumer groups ${inUse.join(', ')} still have members after ${Math.round(timeoutMs / 1000)} s: is another demo stack still running? Stop it (Ctrl-C) and try again`);
      }
      pending = inUse;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** What the demo's own stack is started with: a simulated clock a day before the year, the demo's store, no real mail. */
export function demoStackEnv(env: NodeJS.ProcessEnv, store: DemoStore, start: string, campaigns?: DemoCampaigns): NodeJS.ProcessEnv {
  // SendGrid would try to deliver to the demo's made-up addresses: its mail goes to the outbox.
  const { SENDGRID_API_KEY: _unused, ...rest } = env;
  return {
    ...rest,
    CLOCK: 'simulated',
    // A day early: the first local day begins in Tokyo 9 hours before it does in UTC.
    CLOCK_START: `${dayDate(start, -1)}T00:00:00Z`,
    DATABASE_URL: store.databaseUrl,
    TOPIC_PREFIX: store.topicPrefix,
    OUTBOX_DIR: store.outboxDir,
    // One partition per topic: every service then takes the store's calls in the order they were
    // sent. With several, customers' records interleave differently from run to run, and what
    // learns from all customers (replenishment intervals, who is waiting for a product back in
    // stock) would see a restock before or after another customer's view by chance: the same
    // seed would not give the same year.
    TOPIC_PARTITIONS: '1',
    // The services' info lines would bury the demo's progress; warnings and errors still show.
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    // The outbox folder is no provider with a rate to respect: a day's mail goes out at once.
    SEND_CONCURRENCY: env.SEND_CONCURRENCY ?? '32',
    SENDGRID_SENDS_PER_SECOND: env.SENDGRID_SENDS_PER_SECOND ?? '100000',
    // The demo's copy of the campaigns, with holdouts, a control group and sunset.
    ...campaigns?.env,
  };
}

/** Where to look once the demo has played, while its stack keeps running. */
export function whereToLook(urls: DemoOptions['urls'], store: DemoStore, brokers: string[], consoleUrl?: string): string[] {
  return [
    'the demo store stays in place while the stack runs:',
    ...(consoleUrl === undefined ? [] : [`  console     ${consoleUrl}  (the password is in .local/console-password unless CONSOLE_PASSWORD is set)`]),
    `  read APIs   ${urls.scheduler}/campaigns  ${urls.classifier}/stages  ${urls.classifier}/customers?stage=…  ${urls.classifier}/customers/demo-00001`,
    `              ${urls.classifier}/metrics/retention?from=…&to=…  (and each service's /docs)`,
    `              each with -H "Authorization: Bearer <token>": the token is in .local/service-token unless SERVICE_TOKEN is set`,
    `  database    ${redactUrl(store.databaseUrl)}  (schemas ingestion, classifier, scheduler, messaging${consoleUrl === undefined ? '' : ', console'})`,
    `  topics      prefix ${store.topicPrefix} on ${brokers.join(',')}`,
    `  mail        ${store.outboxDir}/`,
    'Ctrl-C stops the stack (Kafka keeps running); the next ./lifecycle demo starts again from an empty store.',
  ];
}

export interface DemoCommandOptions extends Omit<DemoOptions, 'brokers' | 'topicPrefix' | 'urls' | 'serviceToken'> {
  env: NodeJS.ProcessEnv;
  config: StackConfig;
  /** The stack's ports: probed, and used by a stack the demo starts. */
  ports: Record<ServiceName, number>;
  /** Where a stack the demo starts keeps its data. */
  store: DemoStore;
  color: boolean;
  /** Stops a stack the demo started, as Ctrl-C does (tests). */
  stopSignal?: AbortSignal;
  /** The port of the console a stack the demo starts runs (default 3005). */
  consolePort?: number;
}

/** Runs `./lifecycle demo`; resolves to the exit code. */
export async function runDemoCommand(o: DemoCommandOptions): Promise<number> {
  const answering = (await Promise.all(serviceCatalog.map(async (s) => ((await portAnswers(o.ports[s.name])) ? s.name : undefined)))).filter((n) => n !== undefined);
  const plan = planDemoStack(answering);
  const urlsOn = (host: string): DemoOptions['urls'] => ({
    ingestion: serviceUrl(host, o.ports.ingestion),
    classifier: serviceUrl(host, o.ports.classifier),
    scheduler: serviceUrl(host, o.ports.scheduler),
    messaging: serviceUrl(host, o.ports.messaging),
  });
  switch (plan.kind) {
    case 'partial':
      o.say(`${plan.answering.join(', ')} answer${plan.answering.length === 1 ? 's' : ''} on ${plan.answering.map((n) => o.ports[n]).join(', ')}, ${plan.silent.join(', ')} do${plan.silent.length === 1 ? 'es' : ''} not: the demo needs the whole stack, or none (then it starts its own); stop the running services or start the missing ones`);
      return 1;
    case 'use-running': {
      const brokers = o.config.brokersFromEnv ?? [`127.0.0.1:${defaultBrokerOptions(o.say).brokerPort}`];
      // A running stack has SERVICE_TOKEN or the one `./lifecycle start` generated, if any.
      return runDemo({ ...o, brokers, topicPrefix: o.config.topicPrefix, databaseUrl: o.config.databaseUrl, outboxDir: o.config.outboxDir, urls: urlsOn(o.config.host), serviceToken: knownServiceToken(o.env) });
    }
    case 'start':
      return startAndPlay(o, urlsOn(o.config.host));
  }
}

async function startAndPlay(o: DemoCommandOptions, urls: DemoOptions['urls']): Promise<number> {
  o.say(`no stack answers on ports ${Object.values(o.ports).join(', ')}: starting one with a simulated clock on the demo's own database and topics`);
  const kafka = await ensureKafka(o.config.brokersFromEnv, o.say);
  const removed = await resetDemoStore(o.store, kafka.brokers);
  o.say(`emptied the demo store: database ${redactUrl(o.store.databaseUrl)} dropped, ${removed.topics} topics and ${removed.groups} consumer groups under ${o.store.topicPrefix} deleted`);
  // A copy of the store's campaigns (CAMPAIGNS_DIR, else the repository's) with measurement on.
  const campaigns = writeDemoCampaigns(o.env.CAMPAIGNS_DIR !== undefined && o.env.CAMPAIGNS_DIR !== '' ? resolve(o.env.CAMPAIGNS_DIR) : join(repoRoot, 'campaigns'), o.store.campaignsDir ?? `${o.store.outboxDir}-campaigns`);
  o.say(
    `the demo's stack runs a copy of the campaigns in ${campaigns.dir}: a ${demoMeasurement.globalControlPercent}% control group, a ${demoMeasurement.holdoutPercent}% holdout on ${campaigns.holdouts.join(', ') || 'no campaign'}, ${campaigns.sunset ? `sunset after ${demoMeasurement.sunset.after} without an open or click` : 'no sunset (the folder has no re-permission campaign)'}`,
  );
  const stop = new AbortController();
  o.stopSignal?.addEventListener('abort', () => stop.abort(), { once: true });
  let ready: () => void = () => {};
  const allReady = new Promise<'ready'>((resolve) => {
    ready = () => resolve('ready');
  });
  const stack = startStack({
    only: [],
    ports: o.ports,
    ...(o.consolePort === undefined ? {} : { consolePort: o.consolePort }),
    env: demoStackEnv(o.env, o.store, o.start, campaigns),
    say: o.say,
    color: o.color,
    stopSignal: stop.signal,
    onAllReady: ready,
    hints: ['  The demo plays its store once every service is ready; Ctrl-C stops the demo and the services.'],
  });
  const first = await Promise.race([allReady, stack]);
  // The stack ended before it was ready: it said why.
  if (first !== 'ready') return first === 0 ? 1 : first;
  let code: number;
  try {
    // Ctrl-C stops the services under the demo: then the stack's end is the demo's.
    code = await Promise.race([runDemo({ ...o, brokers: kafka.brokers, topicPrefix: o.store.topicPrefix, databaseUrl: o.store.databaseUrl, outboxDir: o.store.outboxDir, urls, serviceToken: stackServiceToken(o.env) }), stack.then(() => 130)]);
  } catch (err) {
    stop.abort();
    await stack;
    throw err;
  }
  if (code !== 0) {
    stop.abort();
    await stack;
    return code;
  }
  for (const line of whereToLook(urls, o.store, kafka.brokers, serviceUrl(o.config.host, o.consolePort ?? consoleProcess.port))) o.say(line);
  return stack;
}
