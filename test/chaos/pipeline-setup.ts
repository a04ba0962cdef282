import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { createPool } from '@lifecycle/kit';
import { hashWriteKey } from '../../services/ingestion/src/domain/write-keys.ts';
import { SendGridMail, type FakeSendGridRequest } from '../../tools/src/fake-sendgrid.ts';
import { repoRoot } from '../../tools/src/kafka-broker.ts';
import type { Delivery } from './segment-client.ts';
import { createFleet, type Fleet, type FleetMember } from './service-fleet.ts';
import type { MailReceived } from './verdict.ts';

/**
 * What the chaos run and the end-to-end bench set up alike around the four service processes:
 * a campaigns folder in which every order makes exactly one mail at once, the services'
 * environment, and the reading of what reached the fake SendGrid and the sends' rows.
 */

type Pool = ReturnType<typeof createPool>;

export const THANK_YOU = 'post-purchase-thank-you';

/** The thank-you's dedupe key, which messaging sends as the mail's `dedupeKey` custom arg. */
export function thankYouKey(customerId: string, orderId: string): string {
  return `${THANK_YOU}:${customerId}:order-${orderId}`;
}

/** A campaigns folder with only the thank-you, due at once: every order should make exactly one mail. */
export function writeThankYouOnlyCampaigns(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const thankYou = readFileSync(join(repoRoot, 'campaigns', `${THANK_YOU}.yaml`), 'utf8').replace(/^delay: .*$/m, 'delay: PT0S');
  writeFileSync(join(dir, `${THANK_YOU}.yaml`), thankYou);
  writeFileSync(join(dir, '_settings.yaml'), readFileSync(join(repoRoot, 'campaigns', '_settings.yaml')));
  return dir;
}

/**
 * The run's service processes, not started yet: each gets the run's broker, database and topic
 * prefix, the thank-you-only campaigns, the write key and the fake SendGrid; logs, campaigns and
 * the outbox folder go to `runDir`.
 */
export function pipelineFleet(o: {
  members: readonly FleetMember[];
  brokers: readonly string[];
  databaseUrl: string;
  topicPrefix: string;
  logLevel: string;
  writeKey: string;
  sendgridUrl: string;
  runDir: string;
  note: (line: string) => void;
  signal: AbortSignal;
  /** Settings on top of the run's (messaging's `SEND_CONCURRENCY`, `SENDGRID_SENDS_PER_SECOND`). */
  extraEnv?: NodeJS.ProcessEnv;
}): Fleet {
  const messaging = o.members.find((m) => m.service === 'messaging');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KAFKA_BROKERS: o.brokers.join(','),
    DATABASE_URL: o.databaseUrl,
    TOPIC_PREFIX: o.topicPrefix,
    LOG_LEVEL: o.logLevel,
    CLOCK: 'system',
    CAMPAIGNS_DIR: writeThankYouOnlyCampaigns(join(o.runDir, 'campaigns')),
    INGESTION_WRITE_KEY_HASHES: hashWriteKey(o.writeKey),
    SENDGRID_API_KEY: 'SG.pipeline-run',
    SENDGRID_BASE_URL: o.sendgridUrl,
    UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64'),
    OUTBOX_DIR: join(o.runDir, 'outbox'),
    PUBLIC_URL: `http://127.0.0.1:${messaging?.port ?? 0}`,
    ...o.extraEnv,
  };
  return createFleet({ members: o.members, env, logDir: o.runDir, note: o.note, signal: o.signal });
}

/** A mail the fake SendGrid accepted, by the `dedupeKey` custom arg messaging gives it. */
export function mailReceived(request: FakeSendGridRequest): MailReceived {
  const mail = SendGridMail.safeParse(request.body);
  return { dedupeKey: mail.success ? mail.data.custom_args?.['dedupeKey'] : undefined, receivedAt: request.receivedAt };
}

/** The thank-you sends' statuses by dedupe key; only those in `only` when given. */
export async function sendStatuses(client: Pool, only?: readonly string[]): Promise<Map<string, string>> {
  try {
    const { rows } =
      only === undefined
        ? await client.query<{ dedupe_key: string; status: string }>('SELECT dedupe_key, status::text AS status FROM messaging.sends WHERE campaign_id = $1', [THANK_YOU])
        : await client.query<{ dedupe_key: string; status: string }>('SELECT dedupe_key, status::text AS status FROM messaging.sends WHERE campaign_id = $1 AND status::text = ANY($2)', [THANK_YOU, only]);
    return new Map(rows.map((r) => [r.dedupe_key, r.status]));
  } catch (err) {
    // The table appears with messaging's first migration.
    if (err instanceof Error && 'code' in err && err.code === '42P01') return new Map();
    throw err;
  }
}

/** Where an order that got no mail stands, stage by stage, for the report. */
export async function whereIsIt(client: Pool, order: Delivery & { messageId: string; customerId: string }, dedupeKey: string): Promise<string> {
  const seen = await client.query('SELECT 1 FROM ingestion.seen_messages WHERE message_id = $1', [order.messageId]);
  const job = await client.query<{ status: string; skip_reason: string | null }>('SELECT status, skip_reason FROM scheduler.jobs WHERE dedupe_key = $1', [dedupeKey]);
  const outbox = await client.query('SELECT 1 FROM scheduler.outbox WHERE key = $1', [order.customerId]).catch(() => ({ rowCount: null }));
  const send = await client.query<{ status: string; error: string | null }>('SELECT status::text AS status, error FROM messaging.sends WHERE dedupe_key = $1', [dedupeKey]);
  const jobRow = job.rows[0];
  const sendRow = send.rows[0];
  return [
    order.acceptedAt === undefined ? `never accepted (${order.attempts} posts, last: ${order.lastProblem ?? '?'})` : `accepted after ${order.attempts} post(s)`,
    seen.rowCount === 0 ? 'not seen by ingestion' : 'ingested',
    jobRow === undefined ? 'no job' : `job ${jobRow.status}${jobRow.skip_reason === null ? '' : ` (${jobRow.skip_reason})`}`,
    `scheduler outbox rows for the customer: ${outbox.rowCount ?? '?'}`,
    sendRow === undefined ? 'no send' : `send ${sendRow.status}${sendRow.error === null ? '' : ` (${sendRow.error.slice(0, 120)})`}`,
  ].join('; ');
}
