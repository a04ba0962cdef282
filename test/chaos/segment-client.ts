import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Posts to ingestion's Segment API as a store's Segment client would: over kept-alive
 * connections, and a post answered 503 (Kafka unavailable), 5xx, or not at all (the service is
 * down, the connection dropped) is posted again with the same body, so the same messageIds,
 * after a backoff, until it is accepted (or, with `maxPosts`, given up as analytics-node gives
 * up after its retries). Ingestion drops the repeats of a call it did store.
 */

/** One request body on its way: filled in as it is posted. */
export interface Delivery {
  /** When it was first posted (epoch ms); 0 until then. */
  firstPostedAt: number;
  /** When a post was answered 200; undefined until then. */
  acceptedAt: number | undefined;
  attempts: number;
  /** The last answer other than 200, for the report of a call never accepted. */
  lastProblem: string | undefined;
}

export interface StreamStats {
  posted: number;
  accepted: number;
  /** Posts answered 503 or another 5xx. */
  unavailable: number;
  /** Posts that got no answer: refused, reset, timed out. */
  connectionErrors: number;
  /** Posts answered 4xx: the call itself is wrong, a bug in the run; never retried. */
  refused: number;
  /** Bodies given up after `maxPosts` posts without an acceptance. */
  gaveUp: number;
}

export interface SegmentClient {
  stats: StreamStats;
  /** Posts `body` to `path` (`/v1/track`, `/v1/batch`) until it is accepted, refused or the run stops. */
  deliver: (path: string, body: string, delivery: Delivery) => Promise<void>;
  /** Posts waiting for an answer right now. */
  inFlight: () => number;
  /** Closes the kept-alive connections. */
  close: () => void;
}

export function newDelivery(): Delivery {
  return { firstPostedAt: 0, acceptedAt: undefined, attempts: 0, lastProblem: undefined };
}

/** 0.5 s, 1 s, 2 s, 4 s, then 5 s between posts of one call; the 503's Retry-After is 5 s. */
function backoffMs(attempt: number): number {
  return Math.min(5_000, 500 * 2 ** (attempt - 1));
}

export function segmentClient(opts: {
  /** The ingestion to post to; asked again for every post (round-robin over replicas, a restarted service). */
  baseUrl: () => string;
  writeKey: string;
  signal: AbortSignal;
  /** Connections at most per ingestion (default 64); further posts wait for one. */
  maxSockets?: number;
  /** A post with no answer this long after it got a connection is given up and posted again (default 10 s, as analytics-node). */
  timeoutMs?: number;
  /** Posts of one body at most before it is given up (default: no limit; analytics-node makes 4). */
  maxPosts?: number;
}): SegmentClient {
  const stats: StreamStats = { posted: 0, accepted: 0, unavailable: 0, connectionErrors: 0, refused: 0, gaveUp: 0 };
  const maxPosts = opts.maxPosts ?? Number.POSITIVE_INFINITY;
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const authorization = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let inFlight = 0;

  const postOnce = (url: URL, body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent, signal: opts.signal, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      // From when a connection is free: time queued behind our own other posts is not the server's.
      let timer: NodeJS.Timeout | undefined;
      req.once('socket', () => {
        timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(body);
    });

  const deliver = async (path: string, body: string, delivery: Delivery): Promise<void> => {
    while (!opts.signal.aborted) {
      delivery.attempts += 1;
      if (delivery.firstPostedAt === 0) delivery.firstPostedAt = Date.now();
      stats.posted += 1;
      inFlight += 1;
      try {
        const { status, text } = await postOnce(new URL(path, opts.baseUrl()), body);
        if (status === 200) {
          delivery.acceptedAt = Date.now();
          stats.accepted += 1;
          return;
        }
        delivery.lastProblem = `${status} ${text.slice(0, 200)}`;
        if (status < 500) {
          stats.refused += 1;
          return;
        }
        stats.unavailable += 1;
      } catch (err) {
        if (opts.signal.aborted) return;
        stats.connectionErrors += 1;
        delivery.lastProblem = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      } finally {
        inFlight -= 1;
      }
      if (delivery.attempts >= maxPosts) {
        stats.gaveUp += 1;
        return;
      }
      await sleep(backoffMs(delivery.attempts), undefined, { signal: opts.signal }).catch(() => undefined);
    }
  };

  return { stats, deliver, inFlight: () => inFlight, close: () => agent.destroy() };
}
