/**
 * Clock-skew correction as Segment does it (https://segment.com/docs/connections/spec/common/#timestamps):
 * a client stamps `timestamp` (when the event happened) and `sentAt` (when it sent the call) with
 * its own clock; ingestion knows `receivedAt` by the server's. The time between the event and the
 * send is the same on both clocks, so the event happened at `receivedAt - (sentAt - timestamp)`.
 */

/**
 * A client whose `sentAt` is within this much of `receivedAt` keeps its own `timestamp`. Below
 * about ten seconds the gap is mostly the request's time in transit (Segment's libraries give up
 * on a request after 10 s), not a wrong clock, and a correction would only shift a correct
 * timestamp by the latency. Lifecycle decides in hours and days; ten seconds cannot change them.
 */
export const CLOCK_SKEW_TOLERANCE_MS = 10_000;

export interface EventTimeInput {
  /** The call's `timestamp`: when the event happened, by the client's clock. */
  timestamp: Date;
  /** The call's `sentAt`: when the client sent the call, by its clock; null when it sent none. */
  sentAt: Date | null;
  /** When ingestion received the call, by the server's clock. */
  receivedAt: Date;
}

export interface EventTime {
  /** When the event happened, by the server's clock: what downstream services use. */
  timestamp: Date;
  /** How far the client's clock was ahead of the server's (negative: behind), when `sentAt` tells; transit time included. */
  skewMs: number | null;
  /** Whether `timestamp` differs from the client's, by the skew correction or by the cap at `receivedAt`. */
  corrected: boolean;
}

/**
 * When an event happened by the server's clock. The client's `timestamp` is moved by the skew
 * between `sentAt` and `receivedAt` when that skew is over the tolerance; without `sentAt` the
 * skew is unknown and the timestamp is kept. Either way an event never happens after ingestion
 * received it: a later time (a fast clock without `sentAt`, a `timestamp` after `sentAt`) is
 * capped at `receivedAt`.
 */
export function eventTime(input: EventTimeInput, toleranceMs: number = CLOCK_SKEW_TOLERANCE_MS): EventTime {
  const client = input.timestamp.getTime();
  const received = input.receivedAt.getTime();
  const skewMs = input.sentAt === null ? null : input.sentAt.getTime() - received;
  const shifted = skewMs !== null && Math.abs(skewMs) > toleranceMs ? client - skewMs : client;
  const capped = Math.min(shifted, received);
  return { timestamp: new Date(capped), skewMs, corrected: capped !== client };
}
