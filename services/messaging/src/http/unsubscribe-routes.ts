import type { FastifyInstance } from '@lifecycle/kit';
import { z } from 'zod';
import type { ConsentKeeper } from '../consent-keeper.ts';
import type { UnsubscribeTokens } from '../unsubscribe-tokens.ts';
import { escapeHtml, maskAddress, page } from './pages.ts';

const Query = z.object({ token: z.string().max(2_000).optional() });

export interface UnsubscribeRoutesOptions {
  /** Unset (no secret configured): the routes answer 404, as no valid link can exist. */
  tokens: UnsubscribeTokens | undefined;
  consent: Pick<ConsentKeeper, 'recordForAddress'>;
  now: () => Date;
}

/**
 * `GET /unsubscribe?token=…` shows a confirmation page (link scanners follow GETs, so a GET
 * changes nothing); `POST /unsubscribe?token=…` unsubscribes: the page's button, and the RFC 8058
 * one-click POST (`List-Unsubscribe=One-Click`) mailbox providers send. Both are idempotent.
 * The token never reaches a log line: the kit's request logs print the path only, and a refusal
 * is logged with its reason.
 */
export function unsubscribeRoutes(opts: UnsubscribeRoutesOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    // One-click POSTs come as form data of any flavour; the token is in the URL, the body is not needed.
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 10_000 }, (_req, _body, done) => done(null, null));

    type Checked = { ok: true; email: string; kind: 'id' | 'legacy'; secret: 'current' | 'previous' } | { ok: false; status: 400 | 404; html: string };
    const check = async (query: unknown, log: FastifyInstance['log']): Promise<Checked> => {
      const tokens = opts.tokens;
      if (tokens === undefined) return { ok: false, status: 404, html: page('Not found', '<p>Unsubscribe links are not configured.</p>') };
      const token = Query.safeParse(query).data?.token;
      const resolved = token === undefined ? ({ ok: false, reason: 'missing' } as const) : await tokens.resolve(token);
      if (!resolved.ok) {
        log.info({ reason: resolved.reason }, 'unsubscribe link refused');
        return { ok: false, status: 400, html: page('Link not valid', '<h1>This link is not valid</h1><p>Please use the unsubscribe link from the most recent email, unchanged.</p>') };
      }
      return resolved;
    };

    app.get('/unsubscribe', async (request, reply) => {
      const checked = await check(request.query, request.log);
      if (!checked.ok) return reply.status(checked.status).type('text/html; charset=utf-8').send(checked.html);
      const action = escapeHtml(request.url);
      return reply.type('text/html; charset=utf-8').send(
        page(
          'Unsubscribe',
          `<h1>Unsubscribe</h1><p>Stop marketing emails to <strong>${escapeHtml(maskAddress(checked.email))}</strong>? ` +
            `You will still get emails about your orders.</p><form method="post" action="${action}">` +
            '<input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>',
        ),
      );
    });

    app.post('/unsubscribe', async (request, reply) => {
      const checked = await check(request.query, request.log);
      if (!checked.ok) return reply.status(checked.status).type('text/html; charset=utf-8').send(checked.html);
      const input = { kind: 'unsubscribe', at: opts.now(), source: 'unsubscribe-link' } as const;
      // The token names only the address: the consent owner finds its customers (messaging.recipients).
      await opts.consent.recordForAddress(checked.email, input, `unsubscribe-link:${request.id}`);
      // Which kind of token and secret: tells when legacy links and the previous secret are no longer used.
      request.log.info({ tokenKind: checked.kind, secret: checked.secret }, 'address unsubscribed through its link');
      return reply
        .type('text/html; charset=utf-8')
        .send(page('Unsubscribed', `<h1>You are unsubscribed</h1><p>${escapeHtml(maskAddress(checked.email))} will get no more marketing emails from us.</p>`));
    });
  };
}
