import { parseArgs } from 'node:util';
import { defaultBrokerOptions, defaultClusterOptions, portAnswers, stopBroker, stopKafkaCluster } from './kafka-broker.ts';

// Commands load their modules when run, so `help` answers without loading kafkajs, pg and zod.

/** Mirrors `serviceCatalog` in stack-config.ts for the usage text. */
const serviceList = 'ingestion (:3001), classifier (:3002), scheduler (:3003), messaging (:3004)';

const usage = `Usage: ./lifecycle <command> [options]

Commands:
  start [service...]    Start Kafka (unless KAFKA_BROKERS is set), create the database and topics,
                        then run the services in the foreground with combined logs; a service that
                        dies is restarted (1 s, 2 s, 4 s … up to 30 s); Ctrl-C stops them.
                        Services: ${serviceList}.
      --brokers N         run a local cluster of N Kafka brokers instead of one (ports 9092, 9094, …)
  send-sample-order     Publish a Segment "Order Completed" call to commerce.events.
      --email ADDR        the customer's email (default jane.doe+<random>@example.com)
      --user-id ID        the customer's id (default sample-<random>, a new customer each time)
  test [vitest args]    Type-check, lint and run the tests against the local broker and PostgreSQL;
                        ends with "N passed, N failed". Extra arguments go to vitest (e.g. a file filter).
      --clock-ahead +400d the test processes' clock runs that far ahead (libfaketime; Kafka and
                          PostgreSQL keep real time): proves no test depends on the date it runs
  templates:check       Compile every template and render each locale with its sample.json; exits 1
                        naming file and line when a variable is missing or a template is broken, or
                        when a template uses data its campaign does not send.
  campaigns:check       Validate every campaigns/*.yaml (file, line and field of each mistake) and that
                        each campaign's templates exist and use only the data it sends; exits 1 on error.
  templates:preview ID  Render a template's sample to an HTML file (--locale L, --out FILE).
  templates:send-test ID --to ADDR
                        Send a template's sample to an address (SendGrid with SENDGRID_API_KEY, else outbox).
  consent:lift TARGET   Lift a hard bounce or spam complaint that stops marketing mail, for a customer id
                        or an email address (all customers at it); publishes the change on consent.changes.
                        A customer's own unsubscribe is not lifted: only their re-subscription does that.
  messages:doubtful     List doubtful sends (a SendGrid call whose answer was lost) that SendGrid's
                        webhook has not settled, oldest first, and releases not taken up yet.
      --older-than AGE    only those doubtful at least that long (default 1h; 30m, 2d, 0 for all)
  messages:release-doubtful DEDUPE_KEY | --all-older-than AGE
                        Release one doubtful send, or every one listed with that age, for one more
                        try: messaging sends it again (a second copy if the first did go out).
  setup [--brokers N]   Like start without the services: Kafka, database and topics, then exit.
  stop-kafka            Stop the background Kafka broker (or every node of the cluster) that start,
                        setup or test started.
  help                  This text.

Environment: KAFKA_BROKERS (default: local broker on 127.0.0.1:9092), DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/lifecycle), TOPIC_PREFIX, HOST, LOG_LEVEL,
OUTBOX_DIR (default ./outbox), SENDGRID_API_KEY, TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR;
LIFECYCLE_KAFKA_PORT moves the local broker (and the first node of a cluster).`;

const color = process.stdout.isTTY && process.env.NO_COLOR === undefined;

const label = color ? '\u001b[1mlifecycle:\u001b[22m' : 'lifecycle:';

/** One line of the tools' own news; an empty line stays empty. */
function say(line: string): void {
  process.stdout.write(line === '' ? '\n' : `${label} ${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return 0;
    case 'start': {
      const { isServiceName } = await import('./stack-config.ts');
      const { startStack } = await import('./start-stack.ts');
      const { brokers, positionals } = brokersOption(rest, true);
      const unknown = positionals.filter((name) => !isServiceName(name));
      if (unknown.length > 0) throw new UsageError(`unknown service ${unknown.join(', ')}`);
      return startStack({ only: positionals.filter((name) => isServiceName(name)), brokers, env: process.env, say, color });
    }
    case 'send-sample-order':
      return sendSampleOrder(rest);
    case 'test': {
      const { runTests, splitTestArgs } = await import('./test-run.ts');
      const { clockAhead, vitestArgs } = splitTestArgs(rest);
      return runTests({ vitestArgs, clockAhead, env: process.env, say });
    }
    case 'campaigns:check':
      return (await import('./templates-command.ts')).campaignsCheck(rest, say);
    case 'templates:check':
    case 'templates:preview':
    case 'templates:send-test': {
      const commands = await import('./templates-command.ts');
      if (command === 'templates:check') return commands.templatesCheck(rest, say);
      if (command === 'templates:preview') return commands.templatesPreview(rest, say);
      return commands.templatesSendTest(rest, say);
    }
    case 'consent:lift':
      return consentLift(rest);
    case 'messages:doubtful':
      return doubtfulList(rest);
    case 'messages:release-doubtful':
      return doubtfulRelease(rest);
    case 'setup':
      return setup(brokersOption(rest, false).brokers);
    case 'stop-kafka':
      return stopKafka();
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

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

async function consentLift(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  const [target] = positionals;
  if (target === undefined || positionals.length !== 1) throw new UsageError('consent:lift needs one customer id or email address');
  const { readStackConfig } = await import('./stack-config.ts');
  // Messaging owns consent: the command runs its code against its database, as templates:check runs its renderer.
  const { liftConsent } = await import('../../services/messaging/src/consent-lift.ts');
  const config = readStackConfig(process.env);
  const brokers = config.brokersFromEnv ?? [`127.0.0.1:${defaultBrokerOptions(say).brokerPort}`];
  const result = await liftConsent({ env: { ...process.env, KAFKA_BROKERS: brokers.join(','), DATABASE_URL: config.databaseUrl, TOPIC_PREFIX: config.topicPrefix }, target });
  if (result.customers.length === 0 && result.addressSuppressionsRemoved === 0) {
    say(`messaging knows no customer or suppression for ${target}; nothing lifted`);
    return 1;
  }
  for (const c of result.customers) say(`${c.customerId}: ${c.lifted ? 'lifted' : 'nothing to lift'}, now ${c.state ?? 'no consent recorded'}`);
  if (result.addressSuppressionsRemoved > 0) say(`address-level bounce/spam suppressions removed: ${result.addressSuppressionsRemoved}`);
  return 0;
}

/** The stack's environment for a command that runs messaging's code against its database. */
async function messagingEnv(): Promise<Record<string, string | undefined>> {
  const { readStackConfig } = await import('./stack-config.ts');
  const config = readStackConfig(process.env);
  const brokers = config.brokersFromEnv ?? [`127.0.0.1:${defaultBrokerOptions(say).brokerPort}`];
  return { ...process.env, KAFKA_BROKERS: brokers.join(','), DATABASE_URL: config.databaseUrl, TOPIC_PREFIX: config.topicPrefix };
}

async function ageOption(text: string, option: string): Promise<number> {
  const { parseAge } = await import('../../services/messaging/src/domain/doubtful-release.ts');
  const age = parseAge(text);
  if (!age.ok) throw new UsageError(`${option}: ${age.reason}`);
  return age.ms;
}

async function doubtfulList(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'older-than': { type: 'string', default: '1h' } }, strict: true });
  if (positionals.length > 0) throw new UsageError('messages:doubtful takes no arguments besides --older-than');
  const olderThan = values['older-than'];
  const olderThanMs = await ageOption(olderThan, '--older-than');
  // Messaging owns the sends: the command runs its code against its database, as consent:lift does.
  const { withDoubtfulSends } = await import('../../services/messaging/src/doubtful-sends.ts');
  const { formatAge } = await import('../../services/messaging/src/domain/doubtful-release.ts');
  const now = new Date();
  const listed = await withDoubtfulSends({ env: await messagingEnv(), now: () => now }, (d) => d.list(olderThanMs));
  for (const s of listed) {
    const state = s.status === 'doubtful' ? `doubtful for ${formatAge(now.getTime() - s.since.getTime())}` : 'released, not taken up yet (is messaging running?); releasing it again publishes its request once more';
    const note = s.releasable ? '' : ' (no stored request: cannot be released)';
    process.stdout.write(`${s.dedupeKey}  customer ${s.customerId}  campaign ${s.campaignId}  ${state}${note}\n`);
  }
  say(`${listed.length} doubtful send${listed.length === 1 ? '' : 's'} unsettled for at least ${olderThan}; release with ./lifecycle messages:release-doubtful <dedupe key> or --all-older-than ${olderThan}`);
  return 0;
}

async function doubtfulRelease(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'all-older-than': { type: 'string' } }, strict: true });
  const allOlderThan = values['all-older-than'];
  const [dedupeKey] = positionals;
  if ((allOlderThan === undefined) === (dedupeKey === undefined) || positionals.length > 1) {
    throw new UsageError('messages:release-doubtful needs one dedupe key or --all-older-than AGE');
  }
  const target = dedupeKey !== undefined ? { dedupeKey } : { olderThanMs: await ageOption(allOlderThan ?? '', '--all-older-than') };
  const { withDoubtfulSends } = await import('../../services/messaging/src/doubtful-sends.ts');
  const outcomes = await withDoubtfulSends({ env: await messagingEnv() }, (d) => d.release(target));
  for (const o of outcomes) say(o.released ? `${o.dedupeKey}: released, messages.requested published${o.republished ? ' again' : ''}; messaging sends it` : `${o.dedupeKey}: not released: ${o.reason}`);
  const released = outcomes.filter((o) => o.released).length;
  if (dedupeKey === undefined) say(`${released} of ${outcomes.length} doubtful send${outcomes.length === 1 ? '' : 's'} released`);
  return outcomes.every((o) => o.released) ? 0 : 1;
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

class UsageError extends Error {
  override name = 'UsageError';
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`lifecycle: ${err.message}\n\n${usage}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`lifecycle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
// A kafkajs timer or an idle keep-alive socket must not hold the terminal after the work is done.
setTimeout(() => process.exit(), 3_000).unref();
