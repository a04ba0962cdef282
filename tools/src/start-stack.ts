import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureConsoleWeb } from './console-web.ts';
import { DEMO_WEBHOOK_PUBLIC_KEY } from './demo/demo-webhook-key.ts';
import { portAnswers, repoRoot } from './kafka-broker.ts';
import { describeTopicLayout, differingNote, ensureKafka, ensureStackDatabase, ensureStackTopics } from './local-infra.ts';
import { serviceColors } from './log-format.ts';
import { superviseServices, type ServiceProcessSpec } from './service-supervisor.ts';
import { stackConsolePassword, stackCouponSecret, stackServiceToken } from './stack-secrets.ts';
import {
  consoleProcess,
  nodeFlags,
  readStackConfig,
  redactUrl,
  serviceCatalog,
  serviceEntry,
  servicePorts,
  serviceUrl,
  type ServiceName,
  type StackConfig,
  type StackProcessName,
} from './stack-config.ts';

export interface StartOptions {
  /** The services to run (and `console`); all of them and the console when empty. */
  only: StackProcessName[];
  /** Local Kafka brokers to run when KAFKA_BROKERS is unset (`--brokers`); default 1. */
  brokers?: number;
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
  /** Colours for a terminal. */
  color: boolean;
  /** Ports other than the catalog's, e.g. for a test beside a developer's stack. */
  ports?: Partial<Record<ServiceName, number>>;
  /** The console's port, instead of 3005. */
  consolePort?: number;
  /** Called once every service answers `/readyz`, instead of the hint to send a sample order. */
  onAllReady?: () => void;
  /** Stops the services as Ctrl-C does. */
  stopSignal?: AbortSignal;
  /** The banner's closing hints, instead of the ones for a developer's stack. */
  hints?: string[];
}

/** `./lifecycle start`: infrastructure, banner, then the services in the foreground until Ctrl-C. */
export async function startStack(opts: StartOptions): Promise<number> {
  const config = readStackConfig(opts.env);
  const ports = servicePorts(opts.ports);
  const services = serviceCatalog.filter((s) => opts.only.length === 0 || opts.only.includes(s.name)).map((s) => ({ name: s.name, port: ports[s.name], entry: serviceEntry(s.name) }));
  const withConsole = opts.only.length === 0 || opts.only.includes('console');
  // The console last: it reads through the others, and its line closes the list.
  const selected: { name: StackProcessName; port: number; entry: string }[] = withConsole ? [...services, { name: 'console', port: opts.consolePort ?? consoleProcess.port, entry: consoleProcess.entry }] : services;
  const missing = selected.filter((s) => !existsSync(join(repoRoot, s.entry)));
  if (missing.length > 0) {
    const present = selected.filter((s) => !missing.includes(s)).map((s) => s.name);
    opts.say(`cannot start: ${missing.map((s) => s.entry).join(', ')} does not exist yet`);
    if (present.length > 0) opts.say(`start the others alone with: ./lifecycle start ${present.join(' ')}`);
    return 1;
  }
  const busy = (await Promise.all(selected.map(async (s) => ((await portAnswers(s.port)) ? s : undefined)))).filter((s) => s !== undefined);
  if (busy.length > 0) {
    opts.say(`cannot start: port ${busy.map((s) => `${s.port} (${s.name})`).join(', ')} already in use; is another ./lifecycle start running?`);
    return 1;
  }

  const kafka = await ensureKafka(config.brokersFromEnv, opts.say, opts.brokers ?? 1);
  const database = await ensureStackDatabase(config.databaseUrl);
  const topics = await ensureStackTopics(kafka.brokers, config.topicPrefix, config.topicSettings);
  for (const topic of topics.differing) opts.say(differingNote(topic));
  mkdirSync(config.outboxDir, { recursive: true });
  // Unsubscribe links point at messaging wherever it listens (unless PUBLIC_URL says otherwise).
  const devDefaults: NodeJS.ProcessEnv = { ...localDevelopmentDefaults(opts.env), ...simulatedStackDefaults(opts.env), PUBLIC_URL: serviceUrl(config.host, ports.messaging) };
  if (devDefaults.SENDGRID_WEBHOOK_PUBLIC_KEY !== undefined && opts.env.SENDGRID_WEBHOOK_PUBLIC_KEY === undefined) {
    opts.say('CLOCK=simulated: messaging verifies SendGrid webhooks with the demo key (tools/src/demo/demo-webhook-key.ts), so ./lifecycle demo can report opens, clicks and unsubscribes; set SENDGRID_WEBHOOK_PUBLIC_KEY for another');
  }

  // One token for every service and the console (docs/console.md §1), and the console's password.
  const token = stackServiceToken(opts.env);
  const couponSecret = stackCouponSecret(opts.env);
  const consoleLogin = withConsole ? stackConsolePassword(opts.env) : undefined;
  if (withConsole) await ensureConsoleWeb(opts.say);
  const specs: ServiceProcessSpec[] = selected.map((s) => ({
    name: s.name,
    entry: s.entry,
    nodeFlags,
    url: serviceUrl(config.host, s.port),
    env: {
      ...serviceEnv({ ...devDefaults, ...opts.env }, config, kafka.brokers, s.port),
      SERVICE_TOKEN: token,
      ...(s.name === 'messaging' ? { COUPON_SECRET: couponSecret } : {}),
      ...(s.name === 'console' ? consoleEnv(config, ports, consoleLogin?.password ?? '') : {}),
    },
  }));
  const consoleHints = consoleLogin === undefined ? [] : consoleBanner(consoleLogin);
  for (const line of banner({ config, kafka, database, topics, services: specs, hints: [...(opts.hints ?? defaultHints), ...consoleHints] })) process.stdout.write(`${line}\n`);

  const nameWidth = Math.max(...serviceCatalog.map((s) => s.name.length), consoleProcess.name.length);
  return superviseServices({
    services: specs,
    cwd: repoRoot,
    write: (text) => process.stdout.write(`${text}\n`),
    note: (text) => opts.say(text),
    format: (name) => ({
      nameWidth,
      color: opts.color,
      serviceColor: serviceColors[(name === 'console' ? serviceCatalog.length : serviceCatalog.findIndex((s) => s.name === name)) % serviceColors.length],
    }),
    stopSignal: opts.stopSignal,
    onAllReady:
      opts.onAllReady ??
      (() => {
        const consoleSpec = specs.find((s) => s.name === 'console');
        opts.say(`all ${specs.length} services are ready; in another terminal: ./lifecycle send-sample-order${consoleSpec === undefined ? '' : `; the console: ${consoleSpec.url}`}`);
      }),
  });
}

/** SHA-256 of `dev-write-key`, the write key the local stack accepts unless INGESTION_WRITE_KEY_HASHES is set. */
export const DEV_WRITE_KEY_HASH = '2cc827ddd1d176c150091ef0c8e181de15afbaf3c855263ca0d9069f7c2c3309';

/**
 * What a developer's stack needs to behave like production without any set-up: the HTTP API
 * accepts the write key `dev-write-key`, and marketing mail is signed with an unsubscribe secret
 * made once per checkout (`.local/unsubscribe-secret`), so its links keep working across
 * restarts. Anything set in the environment wins.
 */
function localDevelopmentDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const secretFile = join(repoRoot, '.local', 'unsubscribe-secret');
  let secret = env.UNSUBSCRIBE_SECRET;
  if (secret === undefined) {
    if (!existsSync(secretFile)) {
      mkdirSync(join(repoRoot, '.local'), { recursive: true });
      writeFileSync(secretFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    }
    secret = readFileSync(secretFile, 'utf8').trim();
  }
  return { INGESTION_WRITE_KEY_HASHES: DEV_WRITE_KEY_HASH, UNSUBSCRIBE_SECRET: secret };
}

/**
 * A stack on a simulated clock is for demos and tests: unless SENDGRID_WEBHOOK_PUBLIC_KEY is set,
 * messaging takes the demo's public key, so the demo's signed webhook posts are accepted. A stack
 * on the system clock gets nothing here: its webhook stays closed (503) until a real key is set.
 */
export function simulatedStackDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.CLOCK === 'simulated' && env.SENDGRID_WEBHOOK_PUBLIC_KEY === undefined ? { SENDGRID_WEBHOOK_PUBLIC_KEY: DEMO_WEBHOOK_PUBLIC_KEY } : {};
}

/** What each service is given: the parent's environment, with the stack's settings made explicit. */
function serviceEnv(env: NodeJS.ProcessEnv, config: StackConfig, brokers: string[], port: number): NodeJS.ProcessEnv {
  return {
    ...env,
    KAFKA_BROKERS: brokers.join(','),
    DATABASE_URL: config.databaseUrl,
    TOPIC_PREFIX: config.topicPrefix,
    HOST: config.host,
    PORT: String(port),
    OUTBOX_DIR: config.outboxDir,
  };
}

/** The console reads the services where this stack runs them, with the stack's token. */
function consoleEnv(config: StackConfig, ports: Record<ServiceName, number>, password: string): NodeJS.ProcessEnv {
  return {
    CONSOLE_PASSWORD: password,
    INGESTION_URL: serviceUrl(config.host, ports.ingestion),
    CLASSIFIER_URL: serviceUrl(config.host, ports.classifier),
    SCHEDULER_URL: serviceUrl(config.host, ports.scheduler),
    MESSAGING_URL: serviceUrl(config.host, ports.messaging),
  };
}

/** How to log in to the console, below the banner's hints. */
export function consoleBanner(login: { password: string; source: 'CONSOLE_PASSWORD' | 'file'; file: string; created: boolean }): string[] {
  const where = login.source === 'CONSOLE_PASSWORD' ? 'CONSOLE_PASSWORD from the environment' : `${relative(repoRoot, login.file)}${login.created ? ', generated now' : ''}; set CONSOLE_PASSWORD for another`;
  return [`  Console: open the URL above and log in with the password ${login.password}  (${where})`];
}

const defaultHints = [
  '  Send a sample order from another terminal:  ./lifecycle send-sample-order',
  '  A service that dies is restarted (1 s, 2 s, 4 s … up to 30 s); the others keep running.',
  '  Stop with Ctrl-C (Kafka keeps running in the background).',
];

function banner(input: {
  config: StackConfig;
  kafka: { brokers: string[]; origin: string };
  database: 'created' | 'exists';
  topics: { created: string[]; all: string[]; planned: Parameters<typeof describeTopicLayout>[0]['planned']; brokerCount: number };
  services: ServiceProcessSpec[];
  hints: string[];
}): string[] {
  const { config, kafka, database, topics, services, hints } = input;
  const outbox = relative(repoRoot, config.outboxDir);
  const local = kafka.brokers.length > 1 ? `local cluster of ${kafka.brokers.length}` : 'local broker';
  const kafkaNote = kafka.origin === 'KAFKA_BROKERS' ? 'from KAFKA_BROKERS' : `${local}, ${kafka.origin}; ./lifecycle stop-kafka stops it`;
  const topicNote = topics.created.length > 0 ? `created ${topics.created.length}` : 'all present';
  const main = topics.all.filter((t) => !t.endsWith('.dlq'));
  const width = Math.max(...services.map((s) => s.name.length));
  return [
    '',
    'Lifecycle: local stack',
    `  Kafka       ${kafka.brokers.join(',')}  (${kafkaNote})`,
    `  PostgreSQL  ${redactUrl(config.databaseUrl)}  (${database === 'created' ? 'database created' : 'database exists'})`,
    `  Topics      ${main.join(', ')} + .dlq each  (${topicNote}${config.topicPrefix === '' ? '' : `, prefix ${config.topicPrefix}`})`,
    `              ${describeTopicLayout(topics)}`,
    `  Outbox      ${outbox === '' || outbox.startsWith('..') ? config.outboxDir : `${outbox}/`}  (emails land here when SENDGRID_API_KEY is unset)`,
    ...services.map((s, i) => `  ${i === 0 ? 'Services' : '        '}    ${s.name.padEnd(width)}  ${s.url}`),
    '',
    ...hints,
    '',
  ];
}
