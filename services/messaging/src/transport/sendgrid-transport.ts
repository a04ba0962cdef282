import { Agent as HttpsAgent } from 'node:https';
import { Client } from '@sendgrid/client';
import { MailService, type MailDataRequired } from '@sendgrid/mail';
import { z } from 'zod';
import { rateLimitWaitMs } from '../domain/retry-policy.ts';
import { classifyProviderStatus } from '../domain/send-policy.ts';
import type { OutgoingMail } from '../domain/outgoing-mail.ts';
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

/** What `@sendgrid/client` rejects with when SendGrid answered ≥ 400. */
const ResponseError = z.object({
  code: z.number().int(),
  response: z.object({ body: z.unknown(), headers: z.unknown() }),
});

/** What axios rejects with when no answer came back. */
const NetworkError = z.object({ code: z.string() });

const SendGridErrorBody = z.object({ errors: z.array(z.object({ message: z.string() })).min(1) });

const AcceptedHeaders = z.object({ 'x-message-id': z.string().min(1) });

/** Error codes raised before a request could have reached SendGrid: nothing was sent. */
const notConnectedCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function toSendGridMail(mail: OutgoingMail): MailDataRequired {
  return {
    from: { email: mail.from.email, ...(mail.from.name === undefined ? {} : { name: mail.from.name }) },
    to: { email: mail.to.email, ...(mail.to.name === undefined ? {} : { name: mail.to.name }) },
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    categories: mail.categories,
    // Echoed back on SendGrid's event webhook, so its events can be matched to ours.
    customArgs: { ...mail.tags },
    ...(mail.headers === undefined ? {} : { headers: { ...mail.headers } }),
  };
}

function sendGridErrorText(body: unknown, fallback: string): string {
  const parsed = SendGridErrorBody.safeParse(body);
  return parsed.success ? parsed.data.errors.map((e) => e.message).join('; ') : fallback;
}

function acceptedOutcome(headers: unknown): SendOutcome {
  const parsed = AcceptedHeaders.safeParse(headers);
  return { kind: 'accepted', providerMessageId: parsed.success ? parsed.data['x-message-id'] : null };
}

/** The client hands back axios' header object, a class instance; its own fields are the headers. */
function headerFields(headers: unknown): Record<string, unknown> {
  return typeof headers === 'object' && headers !== null ? Object.fromEntries(Object.entries(headers)) : {};
}

/** Maps whatever the SendGrid client rejected with onto our outcomes. */
export function outcomeOfFailure(err: unknown, now: Date = new Date()): SendOutcome {
  const response = ResponseError.safeParse(err);
  if (response.success) {
    const { code, response: res } = response.data;
    const error = sendGridErrorText(res.body, `SendGrid answered ${code}`);
    const verdict = classifyProviderStatus(code);
    if (verdict === 'rejected') return { kind: 'rejected', status: code, error };
    const retryAfterMs = code === 429 ? rateLimitWaitMs(headerFields(res.headers), now) : undefined;
    return retryAfterMs === undefined ? { kind: 'retryable', status: code, error } : { kind: 'retryable', status: code, error, retryAfterMs };
  }
  const message = err instanceof Error ? err.message : String(err);
  const network = NetworkError.safeParse(err);
  if (network.success && notConnectedCodes.has(network.data.code)) {
    return { kind: 'retryable', status: null, error: `SendGrid unreachable: ${network.data.code}` };
  }
  return { kind: 'unknown', error: `no answer from SendGrid: ${network.success ? network.data.code : message}` };
}

/** Sends through the real `@sendgrid/mail` client, on a client of its own (no module singletons). */
export function createSendGridTransport(opts: SendGridTransportOptions): MailTransport {
  const client = new Client();
  client.setApiKey(opts.apiKey);
  // After setApiKey: it resets the base URL to the key's region.
  client.setDefaultRequest('baseUrl', opts.baseUrl);
  // Keep-alive connections to SendGrid, at most one per send in flight: a burst no longer opens
  // and negotiates a TLS connection per message. (Plain HTTP, a fake SendGrid in tests and
  // benches, goes through Node's global agent, which keeps connections alive since Node 19.)
  client.setDefaultRequest('httpsAgent', new HttpsAgent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 }));
  const mailer = new MailService();
  mailer.setClient(client);
  mailer.setTimeout(opts.timeoutMs);

  return {
    name: 'sendgrid',
    send: async (mail) => {
      try {
        const [response] = await mailer.send(toSendGridMail(mail));
        const verdict = classifyProviderStatus(response.statusCode);
        if (verdict === 'accepted') return acceptedOutcome(response.headers);
        return { kind: 'unknown', error: `unexpected SendGrid answer ${response.statusCode}` };
      } catch (err) {
        return outcomeOfFailure(err, (opts.now ?? (() => new Date()))());
      }
    },
  };
}
