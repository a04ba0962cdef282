import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { writeKeyOf, isValidWriteKey } from './domain/write-keys.ts';
import { validateCall, type FieldIssue } from './domain/validate-call.ts';

/** Segment's own limits: 32 KB per call, 500 KB and 500 calls per batch. */
export const CALL_BODY_LIMIT = 32 * 1024;
export const BATCH_BODY_LIMIT = 500 * 1024;
export const BATCH_MAX_EVENTS = 500;
export const RETRY_AFTER_SECONDS = 5;

/** One record for `commerce.events`: the call as the client sent it, keyed by user or anonymous id. */
export interface OutgoingRecord {
  key: string;
  value: string;
  /** The request's arrival (ms since the epoch, as Kafka takes it): the call's `receivedAt` for the consumer. */
  timestamp: string;
}

/** What a `/v1/batch` body says for all of its calls; a call's own value wins. */
export interface BatchDefaults {
  context?: Record<string, unknown>;
  /** The client's clock when it sent the batch, as `@segment/analytics-node` sends it. */
  sentAt?: unknown;
}

export interface TrackingApiOptions {
  /** SHA-256 hex hashes of the accepted write keys. */
  writeKeyHashes: readonly string[];
  /** Writes records to `commerce.events`; resolves once the broker has acknowledged them. */
  publish: (records: OutgoingRecord[]) => Promise<void>;
  /** How long to wait for `publish` before answering 503. */
  publishTimeoutMs: number;
  now: () => Date;
  /**
   * Drop the clients' `sentAt` (`CLOCK=simulated`): the calls' timestamps are the simulation's,
   * and a client's real clock says nothing about their skew.
   */
  ignoreSentAt?: boolean;
}

type Prepared = { ok: true; record: OutgoingRecord } | { ok: false; messageId: string | null; reason: string; issues: FieldIssue[] };

const JsonObject = z.record(z.string(), z.unknown());

/**
 * Turns one call from a request into a record, as Segment's API does: the route gives the type,
 * a missing timestamp is the time of receipt and a missing messageId is generated (such a call
 * cannot be deduplicated). The record holds the call as sent, with the batch's `context` and
 * `sentAt` filled in, and is stamped with the request's arrival; the consumer normalizes it.
 */
export function prepareCall(raw: unknown, type: string | undefined, now: Date, batch: BatchDefaults = {}, ignoreSentAt = false): Prepared {
  const object = JsonObject.safeParse(raw);
  if (!object.success) return { ok: false, messageId: null, reason: 'call does not match the Segment Spec', issues: [{ field: '(root)', message: 'expected a JSON object' }] };
  // What ingestion derives is its own to write; a client's version is dropped. So is `sentAt`
  // when the timestamp is ours (it only measures the skew of the client's clock, which then
  // stamped nothing), and under a simulated clock.
  const keepSentAt = !ignoreSentAt && object.data.timestamp !== undefined && object.data.timestamp !== null;
  const sent = Object.fromEntries(Object.entries(object.data).filter(([k]) => k !== 'normalized' && (keepSentAt || k !== 'sentAt')));
  const ownContext = JsonObject.safeParse(sent.context);
  const sentAt = keepSentAt ? (sent.sentAt ?? batch.sentAt) : undefined;
  const filled: Record<string, unknown> = {
    ...sent,
    ...(batch.context === undefined ? {} : { context: { ...batch.context, ...(ownContext.success ? ownContext.data : {}) } }),
    ...(type === undefined ? {} : { type }),
    ...(sentAt === undefined ? {} : { sentAt }),
    timestamp: sent.timestamp ?? now.toISOString(),
    messageId: sent.messageId ?? randomUUID(),
  };
  const checked = validateCall(filled);
  if (!checked.ok) {
    return { ok: false, messageId: typeof filled.messageId === 'string' ? filled.messageId : null, reason: checked.reason, issues: checked.issues };
  }
  const key = checked.call.userId ?? checked.call.anonymousId ?? '';
  return { ok: true, record: { key, value: JSON.stringify(filled), timestamp: String(now.getTime()) } };
}

async function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  // A late failure after the deadline has already been answered with 503; nothing to do with it.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Kafka did not acknowledge within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const BatchBody = z.looseObject({ batch: z.array(z.unknown()), context: JsonObject.optional(), sentAt: z.unknown().optional() });

/**
 * Segment's HTTP tracking API (`/v1/track`, `identify`, `alias`, `page`, `screen`, `batch`), so an
 * existing analytics client can be pointed here by changing its host. A request is answered only
 * once its calls are on `commerce.events`.
 */
export function registerTrackingApi(app: FastifyInstance, opts: TrackingApiOptions): void {
  const hashes = opts.writeKeyHashes.map((h) => Buffer.from(h, 'hex'));

  const publishOr503 = async (records: OutgoingRecord[], reply: FastifyReply): Promise<boolean> => {
    if (records.length === 0) return true;
    try {
      await withDeadline(opts.publish(records), opts.publishTimeoutMs);
      return true;
    } catch (err) {
      reply.log.warn({ err, events: records.length }, 'events not accepted, Kafka unavailable');
      await reply
        .status(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: 'events cannot be stored right now; retry later', retryAfterSeconds: RETRY_AFTER_SECONDS });
      return false;
    }
  };

  void app.register(
    async (api) => {
      // Browsers' sendBeacon posts text/plain; it is the same JSON.
      api.addContentTypeParser('text/plain', { parseAs: 'string' }, api.getDefaultJsonParser('error', 'error'));
      api.addHook('onRequest', async (request, reply) => {
        if (isValidWriteKey(writeKeyOf(request.headers.authorization), hashes)) return;
        // An unknown and a revoked key get the same answer.
        await reply.status(401).header('www-authenticate', 'Basic realm="lifecycle"').send({ error: 'unknown or revoked write key' });
      });

      for (const type of ['track', 'identify', 'alias', 'page', 'screen'] as const) {
        api.post(`/${type}`, { bodyLimit: CALL_BODY_LIMIT }, async (request, reply) => {
          const prepared = prepareCall(request.body, type, opts.now(), {}, opts.ignoreSentAt === true);
          if (!prepared.ok) {
            request.log.info({ messageId: prepared.messageId, reason: prepared.reason }, 'event rejected');
            return reply.status(400).send({ error: 'invalid event', reason: prepared.reason, issues: prepared.issues });
          }
          if (!(await publishOr503([prepared.record], reply))) return reply;
          return reply.send({ success: true });
        });
      }

      api.post('/batch', { bodyLimit: BATCH_BODY_LIMIT }, async (request, reply) => {
        const body = BatchBody.safeParse(request.body);
        if (!body.success) {
          return reply.status(400).send({
            error: 'invalid batch',
            issues: body.error.issues.map((i) => ({ field: i.path.length === 0 ? '(root)' : i.path.join('.'), message: i.message })),
          });
        }
        if (body.data.batch.length > BATCH_MAX_EVENTS) {
          return reply.status(413).send({ error: `a batch holds at most ${BATCH_MAX_EVENTS} events`, events: body.data.batch.length });
        }
        const now = opts.now();
        const records: OutgoingRecord[] = [];
        const rejected: { index: number; messageId: string | null; reason: string; issues: FieldIssue[] }[] = [];
        body.data.batch.forEach((item, index) => {
          const prepared = prepareCall(item, undefined, now, { context: body.data.context, sentAt: body.data.sentAt }, opts.ignoreSentAt === true);
          if (prepared.ok) records.push(prepared.record);
          else rejected.push({ index, messageId: prepared.messageId, reason: prepared.reason, issues: prepared.issues });
        });
        if (!(await publishOr503(records, reply))) return reply;
        if (rejected.length > 0) {
          request.log.info({ accepted: records.length, rejected: rejected.length }, 'batch partly rejected');
          return reply.status(400).send({ error: 'some events were rejected; the others were accepted', accepted: records.length, rejected });
        }
        return reply.send({ success: true, accepted: records.length });
      });
    },
    { prefix: '/v1' },
  );
}
