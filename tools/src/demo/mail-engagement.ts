import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { MessageRequested } from '@lifecycle/contracts';
import { followTopic } from './follow-topic.ts';
import { DEMO_WEBHOOK_PRIVATE_KEY_PEM, DEMO_WEBHOOK_PUBLIC_KEY } from './demo-webhook-key.ts';
import type { MailReaction } from './store-simulation.ts';

/**
 * The demo customers' opens, clicks and unsubscribes, reported as SendGrid reports them: events of
 * its Event Webhook, signed with ECDSA P-256 over timestamp + body, posted in batches to
 * messaging's `POST /webhooks/sendgrid`. An event goes only for mail messaging reports `sent` on
 * `messages.events` (SendGrid reports nothing about mail it never got, and an event for a send
 * still in flight would settle it as sent under messaging's feet), and only once the simulated
 * clock has passed the event's time. Which mail an event is about travels as SendGrid echoes our
 * `custom_args`: the ids of the `messages.requested` record, which the demo reads already.
 */

/** One event as SendGrid's Event Webhook posts it; our custom args come back as top-level fields. */
export interface SendGridWebhookEvent {
  event: 'open' | 'click' | 'unsubscribe';
  email: string;
  /** Unix seconds. */
  timestamp: number;
  sg_event_id: string;
  sg_message_id?: string;
  url?: string;
  url_offset?: { index: number; type: 'html' };
  useragent?: string;
  sg_machine_open?: boolean;
  category: string[];
  messageId: string;
  dedupeKey: string;
  campaignId: string;
  customerId: string;
}

export const SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
export const TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

/** Where a demo customer's click leads. */
const STORE_URL = 'https://shop.example.com/';
const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';

/** SendGrid's event ids are opaque 22-character strings; ours are derived, so a re-post is the same event. */
function eventId(dedupeKey: string, event: string): string {
  return createHash('sha256').update(`${dedupeKey}\n${event}`).digest('base64url').slice(0, 22);
}

const unixSeconds = (at: Date): number => Math.floor(at.getTime() / 1000);

/**
 * The webhook events of one customer's reaction to one mail, oldest first. `providerMessageId` is
 * the id messaging reported with `sent`; SendGrid's `sg_message_id` is it plus a filter suffix,
 * which messaging cuts at the first dot, so an id with a dot of its own (the outbox's
 * `<hex>@host`) is left out rather than mangled.
 */
export function engagementEvents(mail: MessageRequested, reaction: Pick<MailReaction, 'openedAt' | 'clickedAt' | 'unsubscribedAt'>, providerMessageId: string | null): SendGridWebhookEvent[] {
  const { dedupeKey, campaignId, category, templateId, recipient } = mail.payload;
  const base = {
    email: recipient.email,
    category: [templateId, category],
    ...(providerMessageId === null || providerMessageId.includes('.') ? {} : { sg_message_id: `${providerMessageId}.filterdrecv-demo-1` }),
    messageId: mail.id,
    dedupeKey,
    campaignId,
    customerId: mail.customerId,
  };
  const events: SendGridWebhookEvent[] = [];
  if (reaction.openedAt !== null) {
    events.push({ ...base, event: 'open', timestamp: unixSeconds(reaction.openedAt), sg_event_id: eventId(dedupeKey, 'open'), useragent: USER_AGENT, sg_machine_open: false });
  }
  if (reaction.clickedAt !== null) {
    const url = `${STORE_URL}?utm_source=lifecycle&utm_medium=email&utm_campaign=${encodeURIComponent(campaignId)}`;
    events.push({ ...base, event: 'click', timestamp: unixSeconds(reaction.clickedAt), sg_event_id: eventId(dedupeKey, 'click'), url, url_offset: { index: 0, type: 'html' }, useragent: USER_AGENT });
  }
  if (reaction.unsubscribedAt !== null) {
    events.push({ ...base, event: 'unsubscribe', timestamp: unixSeconds(reaction.unsubscribedAt), sg_event_id: eventId(dedupeKey, 'unsubscribe') });
  }
  return events.sort((a, b) => a.timestamp - b.timestamp);
}

/** The headers SendGrid signs a webhook post with: base64 DER ECDSA-SHA256 over `timestamp` followed by the body's bytes. */
export function signWebhookBody(privateKey: KeyObject, timestamp: string, body: string): Record<string, string> {
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), Buffer.from(body, 'utf8')]), privateKey).toString('base64');
  return { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature, [TIMESTAMP_HEADER]: timestamp };
}

/** What became of a mail on `messages.events`, as far as engagement is concerned. */
export type MailOutcome = { sent: true; providerMessageId: string | null } | { sent: false };

/**
 * Engagement waiting to be reported: events held until their mail is known to be sent and the
 * clock has passed them. Outcomes may come before the mail's reaction (the two arrive on
 * different topics), so both sides are remembered until they meet; the outcome of a mail nobody
 * reacted to stays (a key and an id: a year of a few thousand customers' mail is a few MB).
 */
export function engagementQueue() {
  const reactions = new Map<string, { mail: MessageRequested; reaction: Pick<MailReaction, 'openedAt' | 'clickedAt' | 'unsubscribedAt'> }>();
  const outcomes = new Map<string, MailOutcome>();
  const ready: SendGridWebhookEvent[] = [];
  let undelivered = 0;
  const meet = (dedupeKey: string): void => {
    const waiting = reactions.get(dedupeKey);
    const outcome = outcomes.get(dedupeKey);
    if (waiting === undefined || outcome === undefined) return;
    reactions.delete(dedupeKey);
    outcomes.delete(dedupeKey);
    if (outcome.sent) ready.push(...engagementEvents(waiting.mail, waiting.reaction, outcome.providerMessageId));
    else undelivered += 1;
  };
  return {
    /** A customer's reaction to a requested mail; one with nothing to report is not kept. */
    add(mail: MessageRequested, reaction: Pick<MailReaction, 'openedAt' | 'clickedAt' | 'unsubscribedAt'> | null): void {
      if (reaction === null || (reaction.openedAt === null && reaction.clickedAt === null && reaction.unsubscribedAt === null)) return;
      reactions.set(mail.payload.dedupeKey, { mail, reaction });
      meet(mail.payload.dedupeKey);
    },
    /** A final outcome messaging reported (the first one counts: a send is final once). */
    settle(dedupeKey: string, outcome: MailOutcome): void {
      if (outcomes.has(dedupeKey)) return;
      outcomes.set(dedupeKey, outcome);
      meet(dedupeKey);
    },
    /** The events at or before `now` of mail that was sent, oldest first; taken out of the queue. */
    takeDue(now: Date): SendGridWebhookEvent[] {
      const until = unixSeconds(now);
      ready.sort((a, b) => a.timestamp - b.timestamp);
      const later = ready.findIndex((e) => e.timestamp > until);
      return ready.splice(0, later === -1 ? ready.length : later);
    },
    /** Reactions still waiting for their mail's outcome. */
    waiting: (): number => reactions.size,
    /** Reactions dropped because messaging did not send the mail (suppressed, failed). */
    undelivered: (): number => undelivered,
  };
}

/** How a stack reports engagement: what to tell the user when messaging refuses the demo's posts. */
export function refusalAdvice(status: number | 'unreachable', messagingUrl: string): string[] {
  const why =
    status === 'unreachable'
      ? `messaging does not answer at ${messagingUrl}`
      : status === 503
        ? 'messaging has no SENDGRID_WEBHOOK_PUBLIC_KEY'
        : 'messaging verifies SendGrid webhooks with another key than the demo’s';
  return [
    `opens, clicks and unsubscribes are not reported: ${why} (it answered the signed webhook with ${status}); the demo goes on without them`,
    '  to report them: stop the stack and run ./lifecycle demo alone (it starts a stack of its own that takes them),',
    '  or start the stack with CLOCK=simulated and SENDGRID_WEBHOOK_PUBLIC_KEY unset (messaging then takes the demo key),',
    `  or give messaging the demo key: SENDGRID_WEBHOOK_PUBLIC_KEY=${DEMO_WEBHOOK_PUBLIC_KEY}`,
  ];
}

export interface MailEngagementOptions {
  brokers: string[];
  topicPrefix: string;
  /** Messaging's base URL; events go to `<url>/webhooks/sendgrid`. */
  messagingUrl: string;
  say: (line: string) => void;
  /** Events per post (SendGrid posts up to about a thousand); default 500. */
  batchSize?: number;
  /** PEM of the signing key; default the demo key. */
  privateKeyPem?: string;
  /** Told of every batch messaging accepted, right after it did. */
  onPosted?: (events: readonly SendGridWebhookEvent[]) => void;
}

export interface EngagementTotals {
  opened: number;
  clicked: number;
  unsubscribed: number;
}

/** Waits between tries of a post that failed with 5xx or no answer. */
const retryDelaysMs = [200, 1_000, 3_000];

/**
 * Starts reporting engagement: follows `messages.events` for what was sent (joined before this
 * resolves), takes each mail's reaction with `add`, and posts what is due with `report(now)`.
 */
export async function startMailEngagement(o: MailEngagementOptions) {
  const key = createPrivateKey(o.privateKeyPem ?? DEMO_WEBHOOK_PRIVATE_KEY_PEM);
  const batchSize = o.batchSize ?? 500;
  const queue = engagementQueue();
  const totals: EngagementTotals = { opened: 0, clicked: 0, unsubscribed: 0 };
  let refused = false;
  const outcomes = await followTopic({
    brokers: o.brokers,
    topicPrefix: o.topicPrefix,
    topic: 'messageEvents',
    clientId: 'lifecycle-demo-engagement',
    onRecord: ({ payload: { dedupeKey, status, providerMessageId } }) => {
      if (status === 'sent') queue.settle(dedupeKey, { sent: true, providerMessageId: providerMessageId ?? null });
      // Skipped (no coupon left in the offer's pool): no mail, nothing for SendGrid to report.
      else if (status === 'suppressed' || status === 'failed' || status === 'skipped') queue.settle(dedupeKey, { sent: false });
    },
  });

  const refuse = (status: number | 'unreachable'): void => {
    refused = true;
    for (const line of refusalAdvice(status, o.messagingUrl)) o.say(line);
  };

  /** Posts one batch; false when messaging refused it and reporting stops. */
  async function post(events: SendGridWebhookEvent[], now: Date): Promise<boolean> {
    const body = JSON.stringify(events);
    for (let attempt = 0; ; attempt++) {
      // SendGrid stamps the post with when it sends it: here, the simulated now.
      const headers = signWebhookBody(key, String(unixSeconds(now)), body);
      let status: number | 'unreachable';
      let text = '';
      try {
        const response = await fetch(`${o.messagingUrl}/webhooks/sendgrid`, { method: 'POST', headers, body });
        status = response.status;
        text = await response.text();
      } catch {
        status = 'unreachable';
      }
      if (typeof status === 'number' && status < 300) return true;
      if (status === 503 || status === 401) {
        refuse(status);
        return false;
      }
      const delay = retryDelaysMs[attempt];
      if ((status === 'unreachable' || status >= 500) && delay !== undefined) {
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      if (status === 'unreachable') {
        refuse(status);
        return false;
      }
      // A 4xx other than the key's is a bug in the events built here, worth stopping for.
      throw new Error(`messaging answered the signed webhook with ${status}${text === '' ? '' : `: ${text}`}`);
    }
  }

  async function report(now: Date): Promise<void> {
    const due = queue.takeDue(now);
    if (refused) return;
    for (let i = 0; i < due.length; i += batchSize) {
      const batch = due.slice(i, i + batchSize);
      if (!(await post(batch, now))) return;
      o.onPosted?.(batch);
      for (const e of batch) {
        if (e.event === 'open') totals.opened++;
        else if (e.event === 'click') totals.clicked++;
        else totals.unsubscribed++;
      }
    }
  }

  return {
    totals,
    /** One mail's reaction (as `answerMail` gave it); null or nothing to report is fine. */
    add: (mail: MessageRequested, reaction: MailReaction | null): void => queue.add(mail, reaction),
    /** Posts every event due at `now` whose mail was sent; stops for good once messaging refuses. */
    report,
    /** Resolves once every outcome messaging has published so far is known here. */
    readOutcomes: (): Promise<void> => outcomes.readToEnd(),
    /** Resolves once every reaction added so far has its mail's outcome (messaging has sent or refused it). */
    async waitForOutcomes(timeoutMs = 120_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (queue.waiting() > 0) {
        if (Date.now() > deadline) throw new Error(`messaging reported no outcome for ${queue.waiting()} mails within ${Math.round(timeoutMs / 1000)} s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    /** Reactions still waiting for messaging to report their mail, and those whose mail was not sent. */
    pending: (): { waiting: number; undelivered: number } => ({ waiting: queue.waiting(), undelivered: queue.undelivered() }),
    /** Waits up to `timeoutMs` for the outcomes of mail still waiting, then reports what is due at `now`. */
    async finish(now: Date, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (queue.waiting() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await report(now);
    },
    /** Stops following `messages.events`. */
    stop: (): Promise<void> => outcomes.stop(),
  };
}

export type MailEngagement = Awaited<ReturnType<typeof startMailEngagement>>;
