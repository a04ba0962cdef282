import { customerIdOf, type LifecycleEvent, type SegmentCall } from '@lifecycle/contracts';
import { eventTime } from './clock-skew.ts';
import { normalizeTimestamp } from './normalize.ts';
import { issueLines, normalizeCall } from './validate-call.ts';

export type AcceptResult = { ok: true; event: LifecycleEvent } | { ok: false; reason: string; errors: string[] };

/** The anonymous id ↔ user id pair a call links, if it carries both. */
export function linkOf(call: SegmentCall): { anonymousId: string; userId: string } | null {
  if (call.type === 'alias') return call.previousId === call.userId ? null : { anonymousId: call.previousId, userId: call.userId };
  if (call.type === 'identify' && call.userId !== undefined && call.anonymousId !== undefined) return { anonymousId: call.anonymousId, userId: call.userId };
  return null;
}

export interface AcceptOptions {
  /** When ingestion received the call, by the server's clock: the `commerce.events` record's timestamp. */
  receivedAt: Date;
  /** The user id this call's anonymous id was linked to earlier, if any. */
  linkedUserId?: string | null;
}

/**
 * The call's `sentAt`, if it carries a readable one. It only serves to measure the client's clock
 * skew, so an unreadable one is ignored (the timestamp is then kept) rather than failing the event.
 */
export function sentAtOf(call: SegmentCall): Date | null {
  if (typeof call.sentAt !== 'string') return null;
  const sentAt = normalizeTimestamp(call.sentAt);
  return sentAt.ok ? new Date(sentAt.value.utc) : null;
}

/**
 * Decides whether a Segment call (already valid against the common Spec fields) becomes a
 * lifecycle event: known events must carry their documented properties, values are normalized,
 * the timestamp is corrected for the client's clock skew, and an anonymous call whose id was
 * linked to a user belongs to that user.
 */
export function acceptCall(call: SegmentCall, opts: AcceptOptions): AcceptResult {
  const checked = normalizeCall(call);
  if (!checked.ok) return { ok: false, reason: checked.reason, errors: issueLines(checked.issues) };
  const link = linkOf(call);
  const linkedUserId = call.userId === undefined ? (opts.linkedUserId ?? undefined) : undefined;
  const time = eventTime({ timestamp: new Date(checked.call.timestamp), sentAt: sentAtOf(call), receivedAt: opts.receivedAt });
  const timestamp = time.timestamp.toISOString();
  const normalized = {
    ...checked.call.normalized,
    timestampOffset: checked.call.normalized?.timestampOffset ?? 'Z',
    originalTimestamp: checked.call.timestamp,
    receivedAt: opts.receivedAt.toISOString(),
    ...(link === null ? {} : { linked: link }),
    ...(linkedUserId === undefined ? {} : { linkedCustomerId: linkedUserId }),
  };
  const normalizedCall: SegmentCall = { ...checked.call, timestamp, normalized };
  return {
    ok: true,
    event: {
      // The messageId is the client's idempotency key, so it is the event's id all the way down.
      id: call.messageId,
      type: 'commerce.event',
      version: 1,
      occurredAt: timestamp,
      customerId: linkedUserId ?? customerIdOf(call),
      causationId: call.messageId,
      payload: { call: normalizedCall },
    },
  };
}
