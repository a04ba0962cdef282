import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A stand-in for the SendGrid v3 API on 127.0.0.1, for tests: a real HTTP server, so the real
 * `@sendgrid/mail` client runs unchanged against it (`SENDGRID_BASE_URL=<url>`).
 *
 *   const sendgrid = await startFakeSendGrid();
 *   // point the service at sendgrid.url with any API key, e.g. SG.test
 *   sendgrid.failNext(500);            // the next POST answers 500, later ones 202 again
 *   sendgrid.rateLimitNext(1, 2);      // the next POST answers 429, X-RateLimit-Reset 2 s ahead
 *   const mail = SendGridMail.parse(sendgrid.accepted()[0]?.body);
 *   await sendgrid.close();
 *
 * Only `POST /v3/mail/send` is spoken. Every request to it is recorded, failed or not; a long
 * run that would pile up every body passes `{ keepRequests: false, onAccepted }` and keeps only
 * what it checks.
 */

/** The parts of a v3 `mail/send` body tests usually look at; everything else is kept. */
export const SendGridMail = z.looseObject({
  personalizations: z
    .array(z.looseObject({ to: z.array(z.looseObject({ email: z.string(), name: z.string().optional() })).min(1) }))
    .min(1),
  from: z.looseObject({ email: z.string(), name: z.string().optional() }),
  subject: z.string().optional(),
  content: z.array(z.object({ type: z.string(), value: z.string() })).optional(),
  categories: z.array(z.string()).optional(),
  custom_args: z.record(z.string(), z.string()).optional(),
  template_id: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
});
export type SendGridMail = z.infer<typeof SendGridMail>;

export interface FakeSendGridRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON body as parsed, or the raw text when it was not JSON. Parse it with `SendGridMail`. */
  body: unknown;
  /** The status the fake answered with: 202 when accepted. */
  status: number;
  /** When the request arrived (epoch ms). */
  receivedAt: number;
  /** The `X-Message-Id` answered with an accepted request. */
  messageId?: string;
}

export interface FakeSendGrid {
  /** Base URL such as `http://127.0.0.1:40123`, for `SENDGRID_BASE_URL`. */
  url: string;
  /** Every request received, in order of arrival. */
  requests: FakeSendGridRequest[];
  /** The requests answered 202, in order. */
  accepted: () => FakeSendGridRequest[];
  /**
   * Makes the next `count` mail/send requests fail with `status` and a SendGrid-style
   * `{ errors: [{ message }] }` body. Queued failures are used up in the order they were added.
   */
  failNext: (status: number, count?: number, message?: string) => void;
  /**
   * Makes the next `count` mail/send requests answer 429 with SendGrid's rate-limit headers:
   * `X-RateLimit-Limit`, `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset`, the Unix second
   * `resetInSeconds` after the answer.
   */
  rateLimitNext: (count: number, resetInSeconds: number) => void;
  /** Answers every later request only after `ms` (0: at once), to make sends overlap. */
  respondAfter: (ms: number) => void;
  /** The most mail/send requests that were waiting for an answer at the same time. */
  peakConcurrency: () => number;
  /** Forgets recorded requests and queued failures. */
  reset: () => void;
  close: () => Promise<void>;
}

export interface FakeSendGridOptions {
  /** Record every request in `requests` (default true). */
  keepRequests?: boolean;
  /** Called with each request answered 202, whether or not requests are kept. */
  onAccepted?: (request: FakeSendGridRequest) => void;
}

interface QueuedFailure {
  status: number;
  message: string;
  /** For a 429: seconds until the rate-limit window resets. */
  resetInSeconds?: number;
}

const MAIL_SEND_PATH = '/v3/mail/send';

function defaultMessage(status: number): string {
  if (status === 429) return 'too many requests';
  if (status >= 500) return 'internal server error';
  return 'The from address does not match a verified Sender Identity.';
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function answer(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...headers, ...(payload === '' ? {} : { 'content-type': 'application/json' }) });
  res.end(payload);
}

function errorBody(...messages: string[]): { errors: { message: string; field: null; help: null }[] } {
  return { errors: messages.map((message) => ({ message, field: null, help: null })) };
}

/** Starts the fake on a random free port of 127.0.0.1. */
export async function startFakeSendGrid(opts: FakeSendGridOptions = {}): Promise<FakeSendGrid> {
  const keepRequests = opts.keepRequests ?? true;
  const requests: FakeSendGridRequest[] = [];
  let failures: QueuedFailure[] = [];
  let accepted = 0;
  let delayMs = 0;
  let inFlight = 0;
  let peak = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method !== 'POST' || path !== MAIL_SEND_PATH) {
      answer(res, 404, errorBody(`the fake SendGrid only speaks POST ${MAIL_SEND_PATH}`));
      return;
    }
    const receivedAt = Date.now();
    const body = await readBody(req);
    const record: FakeSendGridRequest = { method: req.method, path, headers: req.headers, body, status: 0, receivedAt };
    if (keepRequests) requests.push(record);
    if (delayMs > 0) {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      inFlight -= 1;
    }

    const failure = failures.shift();
    if (failure !== undefined) {
      record.status = failure.status;
      const headers: Record<string, string> =
        failure.resetInSeconds === undefined
          ? {}
          : {
              'x-ratelimit-limit': '600',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000 + failure.resetInSeconds)),
            };
      answer(res, failure.status, errorBody(failure.message), headers);
      return;
    }
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      record.status = 401;
      answer(res, 401, errorBody('The provided authorization grant is invalid, expired, or revoked'));
      return;
    }
    const parsed = SendGridMail.safeParse(body);
    if (!parsed.success) {
      record.status = 400;
      answer(res, 400, errorBody(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)));
      return;
    }
    accepted += 1;
    record.status = 202;
    record.messageId = `fake-sg-${accepted.toString().padStart(6, '0')}`;
    answer(res, 202, undefined, { 'x-message-id': record.messageId });
    opts.onAccepted?.(record);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      answer(res, 500, errorBody(err instanceof Error ? err.message : String(err)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fake SendGrid is not listening on TCP');
  const { port } = address;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted: () => requests.filter((r) => r.status === 202),
    failNext: (status, count = 1, message = defaultMessage(status)) => {
      for (let i = 0; i < count; i++) failures.push({ status, message });
    },
    rateLimitNext: (count, resetInSeconds) => {
      for (let i = 0; i < count; i++) failures.push({ status: 429, message: defaultMessage(429), resetInSeconds });
    },
    respondAfter: (ms) => {
      delayMs = ms;
    },
    peakConcurrency: () => peak,
    reset: () => {
      requests.length = 0;
      failures = [];
      delayMs = 0;
      peak = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
