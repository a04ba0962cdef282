import { and, eq, inArray, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { MarketingFrequency, type ConsentSettings } from '@lifecycle/contracts';
import type { Database, FastifyInstance } from '@lifecycle/kit';
import type { ConsentKeeper } from '../consent-keeper.ts';
import { localized } from '../consent-settings.ts';
import { consent, recipients } from '../db/schema.ts';
import { normalizeAddress } from '../domain/suppression.ts';
import type { TokenPurpose } from '../domain/unsubscribe-token.ts';
import type { UnsubscribeTokens } from '../unsubscribe-tokens.ts';
import { escapeHtml, maskAddress, page } from './pages.ts';

/** The languages the pages speak; any other falls back to English. */
const languages = ['en', 'ja'] as const;
type Lang = (typeof languages)[number];

/** `?lang=ja`, `?lang=ja-JP` → `ja`; the preference link in a mail carries the mail's language. */
function languageOf(query: unknown): Lang {
  const asked = z.object({ lang: z.string().max(35).optional() }).safeParse(query).data?.lang?.toLowerCase().split(/[-_]/)[0];
  return languages.find((l) => l === asked) ?? 'en';
}

const words = {
  en: {
    notValid: 'This link is not valid',
    notValidBody: 'Please use the link from the most recent email, unchanged.',
    notConfigured: 'These links are not configured.',
    title: 'Email preferences',
    intro: (address: string) => `Choose which marketing emails <strong>${address}</strong> gets from us.`,
    topics: 'Emails about',
    frequency: 'How often',
    frequencies: { any: 'As often as the store sends', weekly: 'At most once a week', monthly: 'At most once a month' } satisfies Record<MarketingFrequency, string>,
    all: 'Unsubscribe from all marketing',
    unsubscribedNote: 'You are unsubscribed from all marketing emails. To get them again, subscribe at the store.',
    orders: 'You will still get emails about your orders.',
    save: 'Save',
    saved: 'Your preferences are saved',
    savedBody: 'Thank you. The change applies to every email from now on.',
    savedAll: 'You will get no more marketing emails from us.',
    back: 'Change them again',
    incomplete: 'Nothing was saved: please use the form on the page',
    other: { lang: 'ja', label: '日本語' },
    confirmTitle: 'Confirm your subscription',
    confirmBody: (address: string) => `Please confirm that <strong>${address}</strong> wants to get our emails.`,
    confirmButton: 'Confirm',
    confirmed: 'Your subscription is confirmed',
    confirmedBody: 'Thank you. You will now get our emails; you can change which ones at any time from the link in each of them.',
    nothingToConfirm: 'There is nothing to confirm',
    nothingToConfirmBody: 'This subscription was withdrawn, or never needed confirming. Subscribe again at the store if you want our emails.',
  },
  ja: {
    notValid: 'このリンクは無効です',
    notValidBody: '最新のメールにあるリンクをそのままお使いください。',
    notConfigured: 'このリンクは設定されていません。',
    title: '配信設定',
    intro: (address: string) => `<strong>${address}</strong> にお届けするマーケティングメールを選べます。`,
    topics: '受け取るメール',
    frequency: '配信頻度',
    frequencies: { any: 'ストアからの配信のたびに', weekly: '週に1回まで', monthly: '月に1回まで' } satisfies Record<MarketingFrequency, string>,
    all: 'すべてのマーケティングメールの配信を停止する',
    unsubscribedNote: '現在、すべてのマーケティングメールの配信を停止しています。再開するにはストアで購読のお手続きをしてください。',
    orders: 'ご注文に関するメールは引き続きお届けします。',
    save: '保存する',
    saved: '配信設定を保存しました',
    savedBody: 'ありがとうございます。今後のメールから反映されます。',
    savedAll: '今後、マーケティングメールはお届けしません。',
    back: 'もう一度変更する',
    incomplete: '保存されていません。ページのフォームからお手続きください',
    other: { lang: 'en', label: 'English' },
    confirmTitle: 'メール配信の確認',
    confirmBody: (address: string) => `<strong>${address}</strong> へのメール配信をご希望の場合は、確認してください。`,
    confirmButton: '確認する',
    confirmed: 'メール配信の登録が完了しました',
    confirmedBody: 'ありがとうございます。配信するメールは、各メールのリンクからいつでも変更できます。',
    nothingToConfirm: '確認が必要な登録はありません',
    nothingToConfirmBody: 'この登録は取り消されたか、確認の必要がありません。メールをご希望の場合は、ストアで改めて購読してください。',
  },
} as const;

const TokenParams = z.object({ token: z.string().min(1).max(2_000) });

/** A form post: `application/x-www-form-urlencoded`, read as repeated fields. */
function formOf(body: unknown): URLSearchParams {
  return body instanceof URLSearchParams ? body : new URLSearchParams();
}

type Resolved = { ok: true; email: string; token: string } | { ok: false; status: 404; html: string };

/** Sends an HTML page (any fastify reply). */
function html<R extends { type: (t: string) => R; status: (s: number) => R; send: (b: string) => R }>(reply: R, status: number, body: string): R {
  return reply.type('text/html; charset=utf-8').status(status).send(body);
}

/** Resolves a page's token to the address it stands for; a bad, forged or unconfigured one is a 404 page, never a stack trace. */
async function resolveToken(tokens: UnsubscribeTokens | undefined, params: unknown, purpose: TokenPurpose, lang: Lang, log: FastifyInstance['log']): Promise<Resolved> {
  const w = words[lang];
  if (tokens === undefined) return { ok: false, status: 404, html: page(w.notValid, `<h1>${w.notValid}</h1><p>${w.notConfigured}</p>`, lang) };
  const token = TokenParams.safeParse(params).data?.token;
  const resolved = token === undefined ? ({ ok: false, reason: 'missing' } as const) : await tokens.resolve(token, purpose);
  if (!resolved.ok || token === undefined) {
    log.info({ reason: resolved.ok ? 'missing' : resolved.reason, purpose }, 'link refused');
    return { ok: false, status: 404, html: page(w.notValid, `<h1>${w.notValid}</h1><p>${w.notValidBody}</p>`, lang) };
  }
  return { ok: true, email: resolved.email, token };
}

function formParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 10_000 }, (_req, body, done) => done(null, new URLSearchParams(String(body))));
}

export interface PreferenceRoutesOptions {
  /** Unset (no secret configured): the pages answer 404, as no valid link can exist. */
  tokens: UnsubscribeTokens | undefined;
  consent: Pick<ConsentKeeper, 'recordForAddress'>;
  settings: ConsentSettings;
  db: Database;
  now: () => Date;
}

/**
 * The preference center: `GET /preferences/:token` shows a form in the customer's language (the
 * link in a mail carries its `?lang=`), one checkbox per topic of `_consent.yaml`, a frequency and
 * "unsubscribe from all"; `POST` saves it for every customer at the address the token stands for,
 * each save a `consent.changes` record with the preferences. Like unsubscribe links, no service
 * token: the signed link is the proof, and it names an address id, never the address.
 */
export function preferenceRoutes(opts: PreferenceRoutesOptions) {
  const { db, settings } = opts;

  /** What the page shows: the first (by id) customer's choices at the address; all of them are saved alike. */
  const current = async (email: string) => {
    const address = normalizeAddress(email);
    const known = db.select({ customerId: recipients.customerId }).from(recipients).where(eq(recipients.email, address));
    const [row] = await db
      .select({ state: consent.state, topics: consent.topicsOptedOut, frequency: consent.frequency })
      .from(consent)
      .where(or(eq(consent.email, address), inArray(consent.customerId, known)))
      .orderBy(sql`${consent.customerId}`)
      .limit(1);
    return { unsubscribed: row?.state === 'unsubscribed', topicsOptedOut: row?.topics ?? [], frequency: MarketingFrequency.catch('any').parse(row?.frequency) };
  };

  const form = (lang: Lang, token: string, email: string, now: Awaited<ReturnType<typeof current>>): string => {
    const w = words[lang];
    const action = escapeHtml(`/preferences/${encodeURIComponent(token)}?lang=${lang}`);
    const other = escapeHtml(`/preferences/${encodeURIComponent(token)}?lang=${w.other.lang}`);
    const topics = settings.topics
      .map((t) => {
        const description = localized(t.description, lang);
        const checked = now.topicsOptedOut.includes(t.id) ? '' : ' checked';
        return `<label><input type="checkbox" name="topic" value="${escapeHtml(t.id)}"${checked}> ${escapeHtml(localized(t.label, lang))}${description === '' ? '' : `<span class="hint">${escapeHtml(description)}</span>`}</label>`;
      })
      .join('');
    const frequencies = MarketingFrequency.options
      .map((f) => `<label><input type="radio" name="frequency" value="${f}"${now.frequency === f ? ' checked' : ''}> ${escapeHtml(w.frequencies[f])}</label>`)
      .join('');
    return page(
      w.title,
      `<a class="lang" href="${other}" hreflang="${w.other.lang}">${w.other.label}</a><h1>${w.title}</h1><p>${w.intro(escapeHtml(maskAddress(email)))}</p>` +
        (now.unsubscribed ? `<p>${w.unsubscribedNote}</p>` : '') +
        `<form method="post" action="${action}">` +
        (topics === '' ? '' : `<fieldset><legend>${w.topics}</legend>${topics}</fieldset>`) +
        `<fieldset><legend>${w.frequency}</legend>${frequencies}</fieldset>` +
        `<fieldset><label><input type="checkbox" name="all" value="yes"${now.unsubscribed ? ' checked' : ''}> ${w.all}</label><span class="hint">${w.orders}</span></fieldset>` +
        `<button type="submit">${w.save}</button></form>`,
      lang,
    );
  };

  return async (app: FastifyInstance): Promise<void> => {
    formParser(app);

    app.get('/preferences/:token', async (request, reply) => {
      const lang = languageOf(request.query);
      const resolved = await resolveToken(opts.tokens, request.params, 'preferences', lang, request.log);
      if (!resolved.ok) return html(reply, resolved.status, resolved.html);
      return html(reply, 200, form(lang, resolved.token, resolved.email, await current(resolved.email)));
    });

    app.post('/preferences/:token', async (request, reply) => {
      const lang = languageOf(request.query);
      const resolved = await resolveToken(opts.tokens, request.params, 'preferences', lang, request.log);
      if (!resolved.ok) return html(reply, resolved.status, resolved.html);
      const body = formOf(request.body);
      const w = words[lang];
      // The page's form always sends a frequency: a post without one (no form at all) must not read as "left every topic".
      if (!body.has('frequency')) return html(reply, 400, page(w.incomplete, `<h1>${w.incomplete}</h1><p><a href="${escapeHtml(`/preferences/${encodeURIComponent(resolved.token)}?lang=${lang}`)}">${w.back}</a></p>`, lang));
      const kept = new Set(body.getAll('topic'));
      // Topics are the store's: one the form did not tick is left; a posted id the store does not have is ignored.
      const topicsOptedOut = settings.topics.map((t) => t.id).filter((id) => !kept.has(id));
      const frequency = MarketingFrequency.catch('any').parse(body.get('frequency') ?? 'any');
      const unsubscribeAll = body.has('all');
      const input = { kind: 'preferences', at: opts.now(), source: 'preference-center', topicsOptedOut, frequency, unsubscribeAll } as const;
      const customers = await opts.consent.recordForAddress(resolved.email, input, `preference-center:${request.id}`);
      request.log.info({ customers: customers.length, topicsOptedOut: topicsOptedOut.length, frequency, unsubscribeAll }, 'preferences saved through the preference center');
      const again = escapeHtml(`/preferences/${encodeURIComponent(resolved.token)}?lang=${lang}`);
      return html(reply, 200, page(w.saved, `<h1>${w.saved}</h1><p>${unsubscribeAll ? w.savedAll : w.savedBody}</p><p><a href="${again}">${w.back}</a></p>`, lang));
    });
  };
}

export interface ConfirmRoutesOptions {
  tokens: UnsubscribeTokens | undefined;
  consent: Pick<ConsentKeeper, 'recordForAddress'>;
  db: Database;
  now: () => Date;
}

/**
 * Double opt-in: `GET /confirm/:token` shows a Confirm button (mail scanners follow links, so a
 * GET confirms nothing); `POST` confirms every subscription waiting at the address, keeping the
 * time, IP and user agent of the click in the proof, and publishes `subscribed`. Twice is harmless.
 */
export function confirmRoutes(opts: ConfirmRoutesOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    formParser(app);

    app.get('/confirm/:token', async (request, reply) => {
      const lang = languageOf(request.query);
      const resolved = await resolveToken(opts.tokens, request.params, 'confirm', lang, request.log);
      if (!resolved.ok) return html(reply, resolved.status, resolved.html);
      const w = words[lang];
      const action = escapeHtml(`/confirm/${encodeURIComponent(resolved.token)}?lang=${lang}`);
      return html(
        reply,
        200,
        page(w.confirmTitle, `<h1>${w.confirmTitle}</h1><p>${w.confirmBody(escapeHtml(maskAddress(resolved.email)))}</p><form method="post" action="${action}"><button type="submit">${w.confirmButton}</button></form>`, lang),
      );
    });

    app.post('/confirm/:token', async (request, reply) => {
      const lang = languageOf(request.query);
      const resolved = await resolveToken(opts.tokens, request.params, 'confirm', lang, request.log);
      if (!resolved.ok) return html(reply, resolved.status, resolved.html);
      const userAgent = request.headers['user-agent'];
      const input = { kind: 'confirm', at: opts.now(), source: 'double-opt-in', ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 500) : undefined } as const;
      const customers = await opts.consent.recordForAddress(resolved.email, input, `double-opt-in:${request.id}`);
      // Confirmed now or by an earlier click: either way the customer sees it is done.
      const confirmed = customers.length === 0 ? [] : await opts.db.select({ customerId: consent.customerId }).from(consent).where(and(inArray(consent.customerId, customers), eq(consent.optIn, 'confirmed')));
      request.log.info({ customers: customers.length, confirmed: confirmed.length }, 'double opt-in confirmation clicked');
      const w = words[lang];
      if (confirmed.length === 0) return html(reply, 200, page(w.nothingToConfirm, `<h1>${w.nothingToConfirm}</h1><p>${w.nothingToConfirmBody}</p>`, lang));
      return html(reply, 200, page(w.confirmed, `<h1>${w.confirmed}</h1><p>${w.confirmedBody}</p>`, lang));
    });
  };
}
