import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { topicName } from '@lifecycle/contracts';
import { startIsolatedStack } from './isolated-stack.ts';
import { compareReplays, formatReport, type WhatIfReport } from './report.ts';
import { consentInstant, replay, type ReplayInput } from './replay.ts';
import { replayWindow, walkSteps } from './replay-window.ts';
import { readRetained } from './retained-records.ts';

/**
 * `./lifecycle what-if`: what a candidate campaign folder would have sent, next to what the
 * live folder sends, over the events the live `commerce.events` retains. Each folder gets a
 * stack of its own (database, topic prefix, simulated clock); both replay the same records.
 */
export interface WhatIfOptions {
  brokers: string[];
  /** The live stack's database URL: the replays' databases are made on its server. */
  databaseUrl: string;
  /** The live stack's topic prefix. */
  topicPrefix: string;
  liveCampaignsDir: string;
  candidateDir: string;
  from?: string | undefined;
  to?: string | undefined;
  /** The live clock's now: the default end of the window. */
  liveNow: () => Promise<Date>;
  /** What `campaigns:check` finds wrong in a folder. */
  campaignProblems: (dir: string) => Promise<string[]>;
  json: boolean;
  /** Names the replays' databases and topic prefixes (default `whatif_<random>`); tests give their run's. */
  isolationName?: string;
  /** Extra environment for the replays' services. */
  env?: Record<string, string>;
  say: (line: string) => void;
  write: (line: string) => void;
}

/** Runs a what-if; resolves to the exit code. */
export async function runWhatIf(o: WhatIfOptions): Promise<number> {
  const problems = await o.campaignProblems(o.candidateDir);
  if (problems.length > 0) {
    o.say(`the candidate campaigns in ${o.candidateDir} fail campaigns:check; nothing was replayed:`);
    for (const p of problems) o.write(p);
    return 1;
  }
  const window = replayWindow({ from: o.from, to: o.to }, await o.liveNow());
  if (typeof window === 'string') {
    o.say(window);
    return 2;
  }
  const kafka = new Kafka({ clientId: 'lifecycle-what-if', brokers: o.brokers, logLevel: logLevel.NOTHING });
  const commerceTopic = topicName(o.topicPrefix, 'commerceEvents');
  const consentTopic = topicName(o.topicPrefix, 'consentChanges');
  const missing = await missingTopics(kafka, [commerceTopic, consentTopic]);
  if (missing.length > 0) {
    o.say(`no topic ${missing.join(', ')} on ${o.brokers.join(',')}: run what-if with the live stack's KAFKA_BROKERS and TOPIC_PREFIX`);
    return 1;
  }
  const retained = await readRetained(kafka, commerceTopic, o.topicPrefix, (r) => r.timestamp <= window.to.getTime());
  const commerce = retained.records.filter((r) => r.timestamp >= window.from.getTime());
  const history = retained.records.filter((r) => r.timestamp < window.from.getTime());
  const consent = (await readRetained(kafka, consentTopic, o.topicPrefix, (r) => consentInstant(r) <= window.to.getTime())).records;
  const earliest = retained.earliest === null ? null : new Date(retained.earliest);
  const input: ReplayInput = { history, from: window.from, commerce, consent, steps: walkSteps(window, 86_400_000, consent.map(consentInstant)) };
  const before = consent.filter((r) => consentInstant(r) < window.from.getTime()).length;
  const note = [
    `${history.length} ${commerceTopic} record(s) from before the window, received at its start (a week old or more, they build profiles and contacts and start nothing; newer ones start their campaigns, whose messages due before the window are not counted)`,
    `${commerce.length} ${commerceTopic} record(s) received in the window, at their receipt times`,
    `${consent.length} ${consentTopic} record(s) (${before} from before the window, put on at its start; the rest at the instants messaging recorded them)`,
    `a day per step and one just before each consent change, ${input.steps.length} step(s)`,
    earliest === null ? `${commerceTopic} retains nothing` : `${commerceTopic} retains records from ${earliest.toISOString()}`,
    'nothing was sent (no messaging service: requests stayed on the replays\u2019 own topics)',
  ].join('; ');
  if (!o.json) o.say(`replaying ${window.from.toISOString()} to ${window.to.toISOString()}: ${note}`);

  const base = o.isolationName ?? `whatif_${randomBytes(4).toString('hex')}`;
  const cleanups: (() => Promise<void>)[] = [];
  // Ctrl-C stops the services too (same process group); what the replays made is removed before exiting.
  const interrupted = (): void => {
    o.say('interrupted: removing the replays\u2019 databases and topics');
    void Promise.all(cleanups.map((dispose) => dispose().catch((err: unknown) => o.say(`could not remove everything: ${err instanceof Error ? err.message : String(err)}`)))).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const outcomes = [];
    for (const [side, dir] of [['live', o.liveCampaignsDir], ['candidate', o.candidateDir]] as const) {
      const stack = await startIsolatedStack({
        brokers: o.brokers,
        serverDatabaseUrl: o.databaseUrl,
        name: `${base}_${side}`,
        parentPrefix: o.topicPrefix,
        campaignsDir: dir,
        clockStart: new Date(window.from.getTime() - 1),
        ...(o.env === undefined ? {} : { env: o.env }),
      }, (dispose) => cleanups.push(dispose));
      try {
        outcomes.push(await replay(stack, input, (done, total) => (!o.json && (done === total || done % 7 === 0) ? o.say(`${side} campaigns: day ${done}/${total}`) : undefined)));
      } finally {
        await stack.dispose();
      }
    }
    const [live, candidate] = outcomes;
    if (live === undefined || candidate === undefined) throw new Error('a replay produced no outcome');
    const report: WhatIfReport = {
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      replayed: { historyBeforeWindow: history.length, commerceEvents: commerce.length, consentChanges: consent.length, consentChangesBeforeWindow: before, steps: input.steps.length, note },
      campaigns: compareReplays(live, candidate),
    };
    if (o.json) o.write(JSON.stringify(report, null, 2));
    else for (const line of formatReport(report)) o.write(line);
    return 0;
  } finally {
    await Promise.all(cleanups.map((dispose) => dispose().catch(() => undefined)));
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

async function missingTopics(kafka: Kafka, topics: string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect();
  }
}
