import { parseArgs } from 'node:util';
import { runCommandLine, UsageError, type Command } from '@lifecycle/kit/command';
import { classifierCommands, classifierUsage } from '@lifecycle/classifier/commands';
import { campaignTemplateProblems, messagingCommands, messagingUsage } from '@lifecycle/messaging/commands';
import { campaignFolderProblems, campaignsCheckWith, schedulerCommands, schedulerUsage } from '@lifecycle/scheduler/commands';
import { defaultBrokerOptions, defaultClusterOptions, portAnswers, stopBroker, stopKafkaCluster } from './kafka-broker.ts';

// Commands load their modules when run, so `help` answers without loading kafkajs, pg and zod.
// The services' own commands (their package bins) are run here with the stack's settings.

/** Mirrors `serviceCatalog` in stack-config.ts for the usage text. */
const serviceList = 'ingestion (:3001), classifier (:3002), scheduler (:3003), messaging (:3004), console (:3005)';

const usage = `Usage: ./lifecycle <command> [options]

Commands:
  start [service...]    Start Kafka (unless KAFKA_BROKERS is set), create the database and topics,
                        then run the services in the foreground with combined logs; a service that
                        dies is restarted (1 s, 2 s, 4 s … up to 30 s); Ctrl-C stops them.
                        Services: ${serviceList}. The console's web app is built first
                        when it is missing or older than its sources; every service gets the same
                        SERVICE_TOKEN (else .local/service-token) and the console CONSOLE_PASSWORD
                        (else .local/console-password, printed at start).
      --brokers N         run a local cluster of N Kafka brokers instead of one (ports 9092, 9094, …)
  send-sample-order     Publish a Segment "Order Completed" call to commerce.events.
      --email ADDR        the customer's email (default jane.doe+<random>@example.com)
      --user-id ID        the customer's id (default sample-<random>, a new customer each time)
  test [vitest args]    Type-check, lint and run the tests against the local broker and PostgreSQL;
                        ends with "N passed, N failed". Extra arguments go to vitest (e.g. a file filter).
      --clock-ahead +400d the test processes' clock runs that far ahead (libfaketime; Kafka and
                          PostgreSQL keep real time): proves no test depends on the date it runs
${messagingUsage}
  privacy:erase CUSTOMER_ID
                        Erase what every service holds on a customer (profile, contact, consent,
                        addresses, jobs, …) through messaging's /admin/privacy/requests; prints each
                        service's confirmation; exits 1 naming the services that did not confirm in time.
      --timeout S         how long to wait for the four confirmations (default 120)
  privacy:export CUSTOMER_ID
                        Gather what every service holds on a customer into one JSON file.
      --out FILE          where it goes (default ./privacy-export-<id>.json)   --timeout S (default 120)
${schedulerUsage}
${classifierUsage('classifier:')}
  demo                  Play the demo store for a year: customers browse, order, review and answer
                        mail through the Segment HTTP API, and open, click and unsubscribe through
                        messaging's signed SendGrid webhook; a summary at the end. With no stack
                        running, it starts one (CLOCK=simulated, database lifecycle_demo, topic
                        prefix demo., both emptied first) and keeps it running until Ctrl-C;
                        otherwise it uses the running one, which must run CLOCK=simulated.
      --customers N       (default 2000)   --days N (default 365)   --seed N (default 1)
      --start YYYY-MM-DD  the year's first local date (default 2027-01-01)
      --step-hours N      how far the clock walks per step (default 24; 1 to 24): each step
                          sends what happened, waits for the pipeline, then fires what came due
  what-if --campaigns DIR
                        What would the campaigns in DIR have sent? Replays the records the live
                        commerce.events retains in the window (and the consent changes up to its end)
                        through ingestion, classifier and scheduler twice, with the live campaigns and
                        with DIR, each on its own database, topics and simulated clock, a day per step;
                        sends nothing. Prints per campaign the messages by ISO week, the skips by reason
                        and the difference from the live set, with example customers. Refuses a DIR
                        that fails campaigns:check.
      --from ISO --to ISO the window (default: --to the live clock's now, --from 28 days before --to)
      --json              the same as one JSON document
  console:screenshots   Fill a demo store, drive the console in Chromium (the browser test) and save a
                        screenshot of each page into docs/console/, where the README shows them.
  setup [--brokers N]   Like start without the services: Kafka, database and topics, then exit.
  stop-kafka            Stop the background Kafka broker (or every node of the cluster) that start,
                        setup or test started.
  help                  This text.

Environment: KAFKA_BROKERS (default: local broker on 127.0.0.1:9092), DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/lifecycle), TOPIC_PREFIX, HOST, LOG_LEVEL,
OUTBOX_DIR (default ./outbox), SENDGRID_API_KEY, TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR,
SERVICE_TOKEN, CONSOLE_PASSWORD;
LIFECYCLE_KAFKA_PORT moves the local broker (and the first node of a cluster).`;

const color = process.stdout.isTTY && process.env.NO_COLOR === undefined;

const label = color ? '\u001b[1mlifecycle:\u001b[22m' : 'lifecycle:';

/** One line of the tools' own news; an empty line stays empty. */
function say(line: string): void {
  process.stdout.write(line === '' ? '\n' : `${label} ${line}\n`);
}

/** The stack's settings for a command that runs a service's code against its database and broker. */
async function stackEnv(): Promise<Record<string, string | undefined>> {
  const { readStackConfig } = await import('./stack-config.ts');
  const config = readStackConfig(process.env);
  const brokers = config.brokersFromEnv ?? [`127.0.0.1:${defaultBrokerOptions(say).brokerPort}`];
  return { ...process.env, KAFKA_BROKERS: brokers.join(','), DATABASE_URL: config.databaseUrl, TOPIC_PREFIX: config.topicPrefix };
}

/** A service's command, run with the stack's broker, database and topic prefix. */
function onStack(command: Command): Command {
  return async (args, ctx) => command(args, { ...ctx, env: await stackEnv() });
}

const commands: Record<string, Command> = {
  start: async (rest) => {
    const { isStackProcessName } = await import('./stack-config.ts');
    const { startStack } = await import('./start-stack.ts');
    const { brokers, positionals } = brokersOption(rest, true);
    const unknown = positionals.filter((name) => !isStackProcessName(name));
    if (unknown.length > 0) throw new UsageError(`unknown service ${unknown.join(', ')}`);
    return startStack({ only: positionals.filter((name) => isStackProcessName(name)), brokers, env: process.env, say, color });
  },
  'send-sample-order': (rest) => sendSampleOrder(rest),
  'console:screenshots': async (rest) => {
    if (rest.length > 0) throw new UsageError(`console:screenshots takes no arguments, not ${rest.join(' ')}`);
    const { runTests } = await import('./test-run.ts');
    // The browser test saves a screenshot of each page where the README shows them.
    return runTests({ vitestArgs: ['tools/src/console-browser.test.ts'], checks: false, env: { ...process.env, CONSOLE_SCREENSHOTS_DIR: 'docs/console' }, say });
  },
  test: async (rest) => {
    const { runTests, splitTestArgs } = await import('./test-run.ts');
    const { clockAhead, vitestArgs } = splitTestArgs(rest);
    return runTests({ vitestArgs, clockAhead, env: process.env, say });
  },
  'templates:check': messagingCommands['templates:check'],
  'templates:preview': messagingCommands['templates:preview'],
  'templates:send-test': messagingCommands['templates:send-test'],
  // The campaign files are the scheduler's, their templates messaging's: each checks its own.
  'campaigns:check': campaignsCheckWith((campaigns, templatesDir) => campaignTemplateProblems(campaigns, templatesDir, process.env)),
  'consent:lift': onStack(messagingCommands['consent:lift']),
  'messages:doubtful': onStack(messagingCommands['messages:doubtful']),
  'messages:release-doubtful': onStack(messagingCommands['messages:release-doubtful']),
  'coupons:import': onStack(messagingCommands['coupons:import']),
  'coupons:export': onStack(messagingCommands['coupons:export']),
  'coupons:status': onStack(messagingCommands['coupons:status']),
  'classifier:rebuild': onStack(classifierCommands.rebuild),
  'privacy:erase': (rest) => privacy('erase', rest),
  'privacy:export': (rest) => privacy('export', rest),
  'catalog:import': onStack(schedulerCommands['catalog:import']),
  demo: (rest) => demo(rest),
  'what-if': (rest) => whatIf(rest),
  setup: (rest) => setup(brokersOption(rest, false).brokers),
  'stop-kafka': () => stopKafka(),
};

/** `--brokers N`: how many local Kafka brokers to run (1 to 9). */
function brokersOption(args: string[], allowPositionals: boolean): { brokers: number; positionals: string[] } {
  const { values, positionals } = parseArgs({ args, options: { brokers: { type: 'string' } }, allowPositionals, strict: true });
  if (values.brokers === undefined) return { brokers: 1, positionals };
  const brokers = Number(values.brokers);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 9) throw new UsageError(`--brokers takes a whole number from 1 to 9, not ${values.brokers}`);
  return { brokers, positionals };
}

async function sendSampleOrder(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, 'user-id': { type: 'string' } }, strict: true });
  const { readStackConfig } = await import('./stack-config.ts');
  const { buildSampleOrder, publishSampleOrder } = await import('./sample-order.ts');
  const config = readStackConfig(process.env);
  const brokers = config.brokersFromEnv ?? [`127.0.0.1:${defaultBrokerOptions(say).brokerPort}`];
  if (config.brokersFromEnv === undefined && !(await portAnswers(defaultBrokerOptions(say).brokerPort))) {
    say(`no Kafka broker answers on ${brokers.join(',')}; run ./lifecycle start first (or set KAFKA_BROKERS)`);
    return 1;
  }
  const call = buildSampleOrder({ email: values.email, userId: values['user-id'] });
  const sent = await publishSampleOrder(brokers, config.topicPrefix, call);
  process.stdout.write(`${JSON.stringify(call, null, 2)}\n`);
  say(`sent Order Completed for ${sent.key} to ${sent.topic} (partition ${sent.partition}, offset ${sent.offset}) on ${brokers.join(',')}`);
  say(`with ./lifecycle start running (and no SENDGRID_API_KEY), the thank-you email lands in ${config.outboxDir}/`);
  say('once the campaign is due; the start logs say "message written to outbox" with its path');
  return 0;
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { customers: { type: 'string', default: '2000' }, days: { type: 'string', default: '365' }, seed: { type: 'string', default: '1' }, start: { type: 'string', default: '2027-01-01' }, 'step-hours': { type: 'string', default: '24' } }, strict: true });
  const whole = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} takes a whole number from 1 to ${max}, not ${text}`);
    return n;
  };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.start) || Number.isNaN(Date.parse(values.start))) throw new UsageError(`--start takes a date as YYYY-MM-DD, not ${values.start}`);
  const { readStackConfig, servicePorts } = await import('./stack-config.ts');
  const { defaultDemoStore, runDemoCommand } = await import('./demo/demo-stack.ts');
  const config = readStackConfig(process.env);
  return runDemoCommand({
    customers: whole('customers', values.customers, 100_000),
    days: whole('days', values.days, 3_660),
    seed: whole('seed', values.seed, 2 ** 31),
    start: values.start,
    stepHours: whole('step-hours', values['step-hours'], 24),
    writeKey: process.env.DEMO_WRITE_KEY ?? 'dev-write-key',
    say,
    progress: (line) => (process.stdout.isTTY ? process.stdout.write(`\r${label} ${line}`) : say(line)),
    env: process.env,
    config,
    ports: servicePorts(),
    store: defaultDemoStore(config),
    color,
  });
}

async function whatIf(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { campaigns: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
  if (values.campaigns === undefined) throw new UsageError('what-if needs --campaigns DIR, the candidate campaign folder');
  const { resolve } = await import('node:path');
  const { repoRoot } = await import('./kafka-broker.ts');
  const { readStackConfig, serviceUrl } = await import('./stack-config.ts');
  const { runWhatIf } = await import('./what-if/run-what-if.ts');
  const config = readStackConfig(process.env);
  const schedulerUrl = serviceUrl(config.host, 3003);
  const candidateDir = resolve(values.campaigns);
  const quiet = values.json === true;
  return runWhatIf({
    brokers: config.brokersFromEnv ?? [`127.0.0.1:${defaultBrokerOptions(say).brokerPort}`],
    databaseUrl: config.databaseUrl,
    topicPrefix: config.topicPrefix,
    liveCampaignsDir: resolve(process.env.CAMPAIGNS_DIR ?? `${repoRoot}/campaigns`),
    candidateDir,
    from: values.from,
    to: values.to,
    liveNow: async () => {
      try {
        const { serviceAuthHeaders } = await import('./stack-secrets.ts');
        const body: unknown = await (await fetch(`${schedulerUrl}/admin/clock`, { headers: serviceAuthHeaders() })).json();
        if (typeof body === 'object' && body !== null && 'now' in body && typeof body.now === 'string') return new Date(body.now);
      } catch {
        // no live scheduler answers: this machine's clock
      }
      if (!quiet) say(`the live scheduler (${schedulerUrl}) does not answer; the window ends now by this machine's clock`);
      return new Date();
    },
    campaignProblems: (dir) => campaignFolderProblems(dir, (campaigns, templatesDir) => campaignTemplateProblems(campaigns, templatesDir, process.env)),
    json: quiet,
    say: quiet ? (line) => process.stderr.write(`lifecycle: ${line}\n`) : say,
    write: (line) => process.stdout.write(`${line}\n`),
  });
}

/** A privacy request through messaging's admin API on the running stack, with its service token. */
async function privacy(kind: 'erase' | 'export', args: string[]): Promise<number> {
  const { parsePrivacyArgs, runPrivacyRequest } = await import('./privacy-commands.ts');
  const { readStackConfig, servicePorts, serviceUrl } = await import('./stack-config.ts');
  const { serviceAuthHeaders } = await import('./stack-secrets.ts');
  const { customerId, out, timeoutMs } = parsePrivacyArgs(kind, args);
  const config = readStackConfig(process.env);
  const messagingUrl = process.env.MESSAGING_URL ?? serviceUrl(config.host, servicePorts().messaging);
  return runPrivacyRequest({ kind, customerId, messagingUrl, headers: serviceAuthHeaders(), timeoutMs, out, say });
}

async function setup(brokerCount: number): Promise<number> {
  const { readStackConfig } = await import('./stack-config.ts');
  const { differingNote, ensureKafka, ensureStackDatabase, ensureStackTopics, describeTopicLayout } = await import('./local-infra.ts');
  const config = readStackConfig(process.env);
  const kafka = await ensureKafka(config.brokersFromEnv, say, brokerCount);
  const database = await ensureStackDatabase(config.databaseUrl);
  const topics = await ensureStackTopics(kafka.brokers, config.topicPrefix, config.topicSettings);
  say(`Kafka ${kafka.brokers.join(',')} (${kafka.origin}); database ${database}; topics: ${topics.created.length} created, ${topics.all.length} declared, ${describeTopicLayout(topics)}`);
  for (const line of topics.differing) say(differingNote(line));
  return 0;
}

async function stopKafka(): Promise<number> {
  const options = defaultBrokerOptions(say);
  const nodes = await stopKafkaCluster(defaultClusterOptions(1, say));
  if (nodes > 0) say(`Kafka cluster stopped (${nodes} node${nodes === 1 ? '' : 's'})`);
  if (await stopBroker(options)) {
    say('Kafka broker stopped');
    return 0;
  }
  if (nodes > 0) return 0;
  if (!(await portAnswers(options.brokerPort))) {
    say(`no Kafka broker is running on 127.0.0.1:${options.brokerPort}`);
    return 0;
  }
  say(`something answers on 127.0.0.1:${options.brokerPort}, but it is not a broker ./lifecycle started; stop it yourself`);
  return 1;
}

await runCommandLine({ program: 'lifecycle', usage, commands, argv: process.argv.slice(2), say });
