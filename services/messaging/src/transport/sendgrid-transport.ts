import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { rateLimitWaitMs } from '../domain/retry-policy.ts';
import { classifyProviderStatus } from '../domain/send-policy.ts';
import type { MailAddress, OutgoingMail } from '../domain/outgoing-mail.ts';
import type { MailTransport, SendOutcome } from './mail-transport.ts';

export interface SendGridTransportOptions {
  apiKey: string;
  /** `https://api.sendgrid.com`, or a fake's URL in tests. */
  baseUrl: string;
  timeoutMs: number;
  /** Connections kept open to SendGrid (keep-alive); calls beyond it wait for one. Default 64. */
  maxSockets?: number;
  /** For reading `X-RateLimit-Reset`; defaults to the system clock. */
  now?: () => Date;
}

const SendGridErrorBody = z.object({ errors: z.array(z.object({ message: z.string() })).min(1) });

/** What a failed request carries when no answer came back. */
const NetworkError = z.object({ code: z.string() });

/** Error codes raised before a request could have reached SendGrid: nothing was sent. */
const notConnectedCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const address = (a: MailAddress): { email: string; name?: string } => ({ email: a.email, ...(a.name === undefined ? {} : { name: a.name }) });

/** The v3 `mail/send` body, as `@sendgrid/mail` builds it for one recipient. */
export function mailSendBody(mail: OutgoingMail): string {
  return JSON.stringify({
    personalizations: [{ to: [address(mail.to)] }],
    from: address(mail.from),
    subject: mail.subject,
    content: [
      { type: 'text/plain', value: mail.text },
      { type: 'text/html', value: mail.html },
    ],
    ...(mail.categories.length === 0 ? {} : { categories: mail.categories }),
    // Echoed back on SendGrid's event webhook, so its events can be matched to ours.
    custom_args: { ...mail.tags },
    ...(mail.headers === undefined ? {} : { headers: { ...mail.headers } }),
  });
}

function sendGridErrorText(body: string, fallback: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return fallback;
  }
  const errors = SendGridErrorBody.safeParse(parsed);
  return errors.success ? errors.data.errors.map((e) => e.message).join('; ') : fallback;
}

/** What SendGrid's answer means for the message. */
export function outcomeOfAnswer(status: number, headers: IncomingHttpHeaders, body: string, now: Date): SendOutcome {
  const verdict = classifyProviderStatus(status);
  if (verdict === 'accepted') {
    const id = headers['x-message-id'];
    return { kind: 'accepted', providerMessageId: typeof id === 'string' && id !== '' ? id : null };
  }
  const error = sendGridErrorText(body, `SendGrid answered ${status}`);
  if (verdict === 'rejected') return { kind: 'rejected', status, error };
  const retryAfterMs = status === 429 ? rateLimitWaitMs({ ...headers }, now) : undefined;
  return retryAfterMs === undefined ? { kind: 'retryable', status, error } : { kind: 'retryable', status, error, retryAfterMs };
}

/** What a request that got no answer means: refused before it was sent, or unknown. */
export function outcomeOfFailure(err: unknown): SendOutcome {
  const network = NetworkError.safeParse(err);
  if (network.success && notConnectedCodes.has(network.data.code)) {
    return { kind: 'retryable', status: null, error: `SendGrid unreachable: ${network.data.code}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'unknown', error: `no answer from SendGrid: ${network.success ? network.data.code : message}` };
}

/**
 * Posts to SendGrid's v3 `mail/send` over a keep-alive agent of its own (no module singletons):
 * the body `@sendgrid/mail` would send, without its client's per-call cost (axios, deep copies),
 * which was a sixth of the service's CPU in a burst.
 */
export function createSendGridTransport(opts: SendGridTransportOptions): MailTransport {
  const url = new URL('/v3/mail/send', opts.baseUrl);
  const https = url.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets ?? 64 };
  const agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const request = https ? httpsRequest : httpRequest;
  const now = opts.now ?? (() => new Date());
  const authorization = `Bearer ${opts.apiKey}`;

  return {
    name: 'sendgrid',
    send: (mail) =>
      new Promise<SendOutcome>((resolve) => {
        const body = mailSendBody(mail);
        const req = request(
          url,
          {
            method: 'POST',
            agent,
            signal: AbortSignal.timeout(opts.timeoutMs),
            headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'lifecycle-messaging' },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', (err) => resolve(outcomeOfFailure(err)));
            res.on('end', () => resolve(outcomeOfAnswer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'), now())));
          },
        );
        // Before an answer: refused before it was sent (retryable), or cut off (unknown, may be sent).
        req.on('error', (err) => resolve(outcomeOfFailure(err)));
        req.end(body);
      }),
  };
}
