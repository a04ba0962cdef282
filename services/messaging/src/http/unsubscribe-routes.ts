import type { FastifyInstance } from '@lifecycle/kit';
import { z } from 'zod';
import type { ConsentKeeper } from '../consent-keeper.ts';
import { verifyUnsubscribeToken } from '../domain/unsubscribe-token.ts';
import { escapeHtml, maskAddress, page } from './pages.ts';

const Query = z.object({ token: z.string().max(2_000).optional() });

export interface UnsubscribeRoutesOptions {
  /** Unset: the routes answer 404, as no valid link can exist. */
  secret: string | undefined;
  consent: Pick<ConsentKeeper, 'record' | 'recordForAddress'>;
  now: () => Date;
}

/**
 * What a verified unsubscribe token names: all these routes need from it, whatever the token's
 * format. `customerId` when the token carries it; without it, the address is mapped to the
 * customers messaging has sent marketing mail to at that address.
 */
export interface UnsubscribeTarget {
  email: string;
  customerId?: string | undefined;
}

/**
 * `GET /unsubscribe?token=…` shows a confirmation page (link scanners follow GETs, so a GET
 * changes nothing); `POST /unsubscribe?token=…` unsubscribes: the page's button, and the RFC 8058
 * one-click POST (`List-Unsubscribe=One-Click`) mailbox providers send. Both are idempotent.
 */
export function unsubscribeRoutes(opts: UnsubscribeRoutesOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    // One-click POSTs come as form data of any flavour; the token is in the URL, the body is not needed.
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 10_000 }, (_req, _body, done) => done(null, null));

    const check = (query: unknown): ({ ok: true } & UnsubscribeTarget) | { ok: false; status: 400 | 404; html: string } => {
      if (opts.secret === undefined) return { ok: false, status: 404, html: page('Not found', '<p>Unsubscribe links are not configured.</p>') };
      const token = Query.safeParse(query).data?.token;
      const verified = token === undefined ? null : verifyUnsubscribeToken(token, opts.secret);
      if (verified === null || !verified.ok) {
        return { ok: false, status: 400, html: page('Link not valid', '<h1>This link is not valid</h1><p>Please use the unsubscribe link from the most recent email, unchanged.</p>') };
      }
      return { ok: true, email: verified.email };
    };

    app.get('/unsubscribe', async (request, reply) => {
      const checked = check(request.query);
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
      const checked = check(request.query);
      if (!checked.ok) return reply.status(checked.status).type('text/html; charset=utf-8').send(checked.html);
      const input = { kind: 'unsubscribe', at: opts.now(), source: 'unsubscribe-link' } as const;
      const cause = `unsubscribe-link:${request.id}`;
      if (checked.customerId !== undefined) await opts.consent.record({ customerId: checked.customerId, email: checked.email }, input, cause);
      else await opts.consent.recordForAddress(checked.email, input, cause);
      request.log.info({ customerId: checked.customerId }, 'address unsubscribed through its link');
      return reply
        .type('text/html; charset=utf-8')
        .send(page('Unsubscribed', `<h1>You are unsubscribed</h1><p>${escapeHtml(maskAddress(checked.email))} will get no more marketing emails from us.</p>`));
    });
  };
}
