import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentChanged, type LifecycleEvent, type MessageRequested } from '@lifecycle/contracts';
import { openRuntime, publish, type Producer, type Runtime } from '@lifecycle/kit';
import { SendGridMail, startFakeSendGrid, type FakeSendGrid, type FakeSendGridRequest } from '@lifecycle/tools/fake-sendgrid';
import { collectTopic, connectedProducer, createTestInfra, eventually, serviceEnv, type TestInfra } from '@lifecycle/tools/test-kit';
import { startMessaging, type Messaging } from '../src/service.ts';
import { loadConfig } from '../src/config.ts';
import { statusEvents, thankYouRequest } from './message-requests.ts';

/**
 * The preference center and double opt-in on the real broker and database, as a customer meets
 * them: the link in a marketing mail, the page in their language, the save on `consent.changes`,
 * the send path honouring it; a subscription from Germany waiting for its confirmation mail.
 */

const UNSUBSCRIBE_SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const PUBLIC_URL = 'https://mail.oakandember.example.com';

let infra: TestInfra;
let sendgrid: FakeSendGrid;
let runtime: Runtime;
let service: Messaging;
let producer: Producer;
let events: Awaited<ReturnType<typeof collectTopic>>;
let consentChanges: Awaited<ReturnType<typeof collectTopic>>;
let settingsDir: string;

beforeAll(async () => {
  infra = await createTestInfra();
  sendgrid = await startFakeSendGrid();
  settingsDir = await mkdtemp(join(tmpdir(), 'lifecycle-preferences-'));
  const consentFile = join(settingsDir, '_consent.yaml');
  await writeFile(
    consentFile,
    [
      'topics:',
      '  - { id: offers, label: { en: Offers and discounts, ja: お得な情報と割引 } }',
      '  - { id: product-news, label: { en: Product news, ja: 商品のお知らせ } }',
      '  - { id: reviews-and-surveys, label: { en: Reviews and surveys, ja: レビューとアンケート } }',
      '  - { id: anniversaries, label: { en: Birthdays and anniversaries, ja: 誕生日と記念日 } }',
      'doubleOptIn: { countries: [DE] }',
    ].join('\n'),
  );
  const config = loadConfig({
    ...serviceEnv(infra),
    PORT: '0',
    SENDGRID_API_KEY: 'SG.test-key',
    SENDGRID_BASE_URL: sendgrid.url,
    SENDGRID_SENDS_PER_SECOND: '1000',
    UNSUBSCRIBE_SECRET,
    PUBLIC_URL,
    CONSENT_FILE: consentFile,
  });
  runtime = await openRuntime({ service: 'messaging', config, schema: 'messaging', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  service = await startMessaging({ runtime, config, retryBackoffMs: 50 });
  producer = await connectedProducer(infra);
  events = await collectTopic(infra, 'messageEvents');
  consentChanges = await collectTopic(infra, 'consentChanges');
});

afterAll(async () => {
  await Promise.all([events?.stop(), consentChanges?.stop(), producer?.disconnect(), ...(service?.consumers.map((c) => c.stop()) ?? [])]);
  await service?.stop();
  await runtime?.close();
  await sendgrid?.close();
  await rm(settingsDir, { recursive: true, force: true });
});

async function request(...values: MessageRequested[]): Promise<void> {
  await publish(producer, infra.prefix, 'messagesRequested', values);
}

function postsFor(dedupeKey: string): FakeSendGridRequest[] {
  return sendgrid.requests.filter((r) => r.status === 202 && SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey === dedupeKey);
}

function htmlOf(post: FakeSendGridRequest | undefined): string {
  return SendGridMail.parse(post?.body).content?.find((c) => c.type === 'text/html')?.value ?? '';
}

/** A marketing mail of the customer `n` names, at `email`, in `locale`, of `topic`. */
function marketing(n: string, o: { customerId: string; email: string; locale?: string; topic?: string }): MessageRequested {
  const base = thankYouRequest(n, { category: 'marketing', campaignId: 'newsletter', locale: o.locale ?? 'en-US', ...(o.topic === undefined ? {} : { topic: o.topic }) });
  return { ...base, customerId: o.customerId, payload: { ...base.payload, dedupeKey: `newsletter:${o.customerId}:${n}`, recipient: { email: o.email, name: 'Ada Lovelace' } } };
}

async function outcome(dedupeKey: string): Promise<{ status: string; reason: string | undefined }> {
  return eventually(() => {
    const [first] = statusEvents(events.records, dedupeKey);
    expect(first).toBeDefined();
    return { status: first?.payload.status ?? '', reason: first?.payload.reason };
  }, 30_000);
}

function consentOf(customerId: string): ConsentChanged[] {
  return consentChanges.records.filter((r) => r.key === customerId).map((r) => ConsentChanged.parse(JSON.parse(r.value)));
}

/** The path of a link in an HTML mail (attributes escape "=" as &#x3D;). */
function linkIn(html: string, page: 'preferences' | 'confirm'): string {
  const href = new RegExp(`href="(${PUBLIC_URL}/${page}/[^"]+)"`).exec(html)?.[1]?.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&');
  expect(href, `a ${page} link`).toBeDefined();
  const url = new URL(href ?? '');
  return `${url.pathname}${url.search}`;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('the preference center', () => {
  const customerId = 'cust-prefs-ja';
  const email = 'hanako.prefs@example.com';

  it('links every marketing mail to the page, which shows the topics in the customer’s language, and saves a topic left on consent.changes', async () => {
    const first = marketing('prefs-1', { customerId, email, locale: 'ja-JP', topic: 'product-news' });
    await request(first);
    expect(await outcome(first.payload.dedupeKey)).toEqual({ status: 'sent', reason: undefined });
    const html = htmlOf(postsFor(first.payload.dedupeKey)[0]);
    expect(html).toContain('配信設定</a>');
    const link = linkIn(html, 'preferences');
    expect(link).toMatch(/^\/preferences\/v2\.[^?]+\?lang=ja$/);

    const shown = await service.app.inject({ method: 'GET', url: link });
    expect(shown.statusCode).toBe(200);
    expect(shown.headers['content-type']).toContain('text/html');
    for (const label of ['お得な情報と割引', '商品のお知らせ', 'レビューとアンケート', '誕生日と記念日', '週に1回まで', 'すべてのマーケティングメールの配信を停止する']) expect(shown.body).toContain(label);
    expect(shown.body).toContain('h••••••@example.com');
    expect(shown.body).not.toContain(email);
    const english = await service.app.inject({ method: 'GET', url: link.replace('lang=ja', 'lang=en') });
    expect(english.body).toContain('Offers and discounts');

    // Leaves offers, keeps the rest.
    const saved = await service.app.inject({ method: 'POST', url: link, headers: form, payload: 'topic=product-news&topic=reviews-and-surveys&topic=anniversaries&frequency=weekly' });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain('配信設定を保存しました');
    const [change] = await eventually(() => {
      const found = consentOf(customerId).filter((c) => c.payload.source === 'preference-center');
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    expect(change?.payload).toMatchObject({ state: 'subscribed', marketingAllowed: true, preferences: { topicsOptedOut: ['offers'], frequency: 'weekly' } });
    // The page shows the choice from now on.
    expect((await service.app.inject({ method: 'GET', url: link })).body).toMatch(/value="offers">/);

    const consent = await service.app.inject({ method: 'GET', url: `/customers/${customerId}/consent` });
    expect(consent.json()).toMatchObject({ preferences: { topicsOptedOut: ['offers'], frequency: 'weekly' }, optIn: null });
  });

  it('suppresses a later mail of the topic the customer left, and sends one of another topic', async () => {
    const offer = marketing('prefs-offer', { customerId, email, locale: 'ja-JP', topic: 'offers' });
    const news = marketing('prefs-news', { customerId, email, locale: 'ja-JP', topic: 'product-news' });
    await request(offer, news);
    expect(await outcome(offer.payload.dedupeKey)).toEqual({ status: 'suppressed', reason: 'topic_opt_out' });
    expect(await outcome(news.payload.dedupeKey)).toEqual({ status: 'sent', reason: undefined });
    expect(postsFor(offer.payload.dedupeKey)).toEqual([]);
    expect(postsFor(news.payload.dedupeKey)).toHaveLength(1);
  });

  it('unsubscribes from all marketing when that is ticked, on one more record', async () => {
    const mail = marketing('prefs-all-1', { customerId: 'cust-prefs-all', email: 'grace.all@example.com', topic: 'offers' });
    await request(mail);
    await outcome(mail.payload.dedupeKey);
    const link = linkIn(htmlOf(postsFor(mail.payload.dedupeKey)[0]), 'preferences');
    const saved = await service.app.inject({ method: 'POST', url: link, headers: form, payload: 'topic=offers&frequency=any&all=yes' });
    expect(saved.body).toContain('You will get no more marketing emails from us.');
    await eventually(() => expect(consentOf('cust-prefs-all').at(-1)?.payload).toMatchObject({ state: 'unsubscribed', source: 'preference-center', preferences: { topicsOptedOut: ['product-news', 'reviews-and-surveys', 'anniversaries'].sort() } }), 30_000);
    const later = marketing('prefs-all-2', { customerId: 'cust-prefs-all', email: 'grace.all@example.com', topic: 'offers' });
    await request(later);
    expect(await outcome(later.payload.dedupeKey)).toEqual({ status: 'suppressed', reason: 'unsubscribed' });
  });

  it('shows a 404 page for a forged link, and for an unsubscribe link’s token', async () => {
    const mail = marketing('prefs-forged', { customerId: 'cust-prefs-forged', email: 'linus.forged@example.com' });
    await request(mail);
    await outcome(mail.payload.dedupeKey);
    const link = linkIn(htmlOf(postsFor(mail.payload.dedupeKey)[0]), 'preferences');
    const forged = link.replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]*)\?/, (_m, c: string, rest: string) => `.${c === 'A' ? 'B' : 'A'}${rest}?`);
    const unsubscribeToken = /unsubscribe\?token=([^"&]+)/.exec(htmlOf(postsFor(mail.payload.dedupeKey)[0]))?.[1] ?? '';
    for (const url of [forged, `/preferences/${unsubscribeToken}`, '/preferences/nonsense']) {
      const answer = await service.app.inject({ method: 'GET', url });
      expect(answer.statusCode, url).toBe(404);
      expect(answer.body).toContain('This link is not valid');
      expect((await service.app.inject({ method: 'POST', url, headers: form, payload: 'all=yes' })).statusCode).toBe(404);
    }
    // A post without the form (no frequency) saves nothing.
    const empty = await service.app.inject({ method: 'POST', url: link });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('Nothing was saved');
    expect(consentOf('cust-prefs-forged')).toEqual([]);
  });
});

describe('double opt-in', () => {
  const customerId = 'cust-doi-de';
  const email = 'jonas.doi@example.com';
  const subscribedAt = new Date(Date.now() - 60_000);

  function subscribed(id: string, at: Date): LifecycleEvent {
    return {
      id,
      type: 'commerce.event',
      version: 1,
      occurredAt: at.toISOString(),
      customerId,
      causationId: id,
      payload: {
        call: {
          type: 'track',
          event: 'Email Subscribed',
          messageId: id,
          timestamp: at.toISOString(),
          userId: customerId,
          properties: { email },
          context: { locale: 'de-DE', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (Subscriber)', traits: { first_name: 'Jonas' } },
        },
      },
    };
  }

  const confirmations = (): FakeSendGridRequest[] =>
    sendgrid.requests.filter((r) => r.status === 202 && SendGridMail.safeParse(r.body).data?.custom_args?.dedupeKey?.startsWith(`double-opt-in:${customerId}:`) === true);

  it('sends one confirmation mail per subscription from a covered country, even when the event comes again', async () => {
    const first = subscribed('lifecycle-event:doi-1', subscribedAt);
    await publish(producer, infra.prefix, 'lifecycleEvents', [first]);
    await eventually(() => expect(confirmations()).toHaveLength(1), 30_000);
    expect(consentOf(customerId).map((c) => c.payload)).toEqual([expect.objectContaining({ state: 'unconfirmed', marketingAllowed: false, source: 'email-subscribed-event', sequence: 1 })]);
    const mail = SendGridMail.parse(confirmations()[0]?.body);
    expect(mail.custom_args).toMatchObject({ dedupeKey: `double-opt-in:${customerId}:${first.id}` });
    expect(htmlOf(confirmations()[0])).toContain('Confirm my subscription');

    // The same event again, then a later subscription of the same customer: handled in order after it, with a mail of its own.
    const again = subscribed('lifecycle-event:doi-2', new Date(subscribedAt.getTime() + 1_000));
    await publish(producer, infra.prefix, 'lifecycleEvents', [first]);
    await publish(producer, infra.prefix, 'lifecycleEvents', [again]);
    await eventually(() => expect(confirmations()).toHaveLength(2), 30_000);
    const keys = confirmations().map((post) => SendGridMail.parse(post.body).custom_args?.dedupeKey);
    expect(keys).toEqual([`double-opt-in:${customerId}:${first.id}`, `double-opt-in:${customerId}:${again.id}`]);
    // Still waiting: one record, and marketing is held back.
    expect(consentOf(customerId)).toHaveLength(1);
    const held = marketing('doi-held', { customerId, email, topic: 'offers' });
    await request(held);
    expect(await outcome(held.payload.dedupeKey)).toEqual({ status: 'suppressed', reason: 'unconfirmed' });
    expect(confirmations()).toHaveLength(2);
  });

  it('holds marketing back until the confirmation is posted, then sends it; the proof keeps both ends', async () => {
    const link = linkIn(htmlOf(confirmations()[0]), 'confirm');
    const page = await service.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect(page.body).toContain('Confirm</button>');
    // A mail scanner's GET confirms nothing.
    const held = marketing('doi-before', { customerId, email, topic: 'offers' });
    await request(held);
    expect(await outcome(held.payload.dedupeKey)).toEqual({ status: 'suppressed', reason: 'unconfirmed' });

    const confirmed = await service.app.inject({ method: 'POST', url: link, headers: { ...form, 'user-agent': 'Mozilla/5.0 (Confirmer)' }, payload: '' });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('Your subscription is confirmed');
    await eventually(() => expect(consentOf(customerId).at(-1)?.payload).toMatchObject({ state: 'subscribed', previousState: 'unconfirmed', marketingAllowed: true, source: 'double-opt-in', sequence: 2 }), 30_000);
    // Twice is harmless.
    expect((await service.app.inject({ method: 'POST', url: link, headers: form, payload: '' })).body).toContain('Your subscription is confirmed');

    const sent = marketing('doi-after', { customerId, email, topic: 'offers' });
    await request(sent);
    expect(await outcome(sent.payload.dedupeKey)).toEqual({ status: 'sent', reason: undefined });
    expect(consentOf(customerId)).toHaveLength(2);

    const consent = (await service.app.inject({ method: 'GET', url: `/customers/${customerId}/consent` })).json();
    expect(consent).toMatchObject({
      state: 'subscribed',
      optIn: 'confirmed',
      optInProof: {
        // The latest subscription's.
        subscribedAt: new Date(subscribedAt.getTime() + 1_000).toISOString(),
        source: 'email-subscribed-event',
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0 (Subscriber)',
        confirmIp: '127.0.0.1',
        confirmUserAgent: 'Mozilla/5.0 (Confirmer)',
        confirmedAt: expect.any(String),
      },
    });
  });

  it('asks no confirmation from a customer outside the covered countries', async () => {
    const at = new Date(Date.now() - 30_000);
    const event: LifecycleEvent = {
      ...subscribed('lifecycle-event:doi-us', at),
      customerId: 'cust-doi-us',
      payload: { call: { type: 'track', event: 'Email Subscribed', messageId: 'lifecycle-event:doi-us', timestamp: at.toISOString(), userId: 'cust-doi-us', properties: { email: 'mae.us@example.com' }, context: { locale: 'en-US' } } },
    };
    await publish(producer, infra.prefix, 'lifecycleEvents', [event]);
    await eventually(() => expect(consentOf('cust-doi-us').map((c) => c.payload.state)).toEqual(['subscribed']), 30_000);
    expect(consentOf('cust-doi-us')[0]?.payload.preferences).toEqual({ topicsOptedOut: [], frequency: 'any', at: null });
  });
});
