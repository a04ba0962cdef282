import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildEml, outboxFileName } from '@lifecycle/messaging';
import { changePreferencesFromMail, choosePreferenceChange, preferenceForm, preferenceFormBody, preferencesLinkIn } from './mail-preferences.ts';
import { seededRandom } from './seeded-random.ts';

const dir = mkdtempSync(join(tmpdir(), 'mail-preferences-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A token as long as messaging's, so quoted-printable folds the line inside the link.
const token = `pref_${'Ab9-_'.repeat(14)}`;
const link = `http://mail.shop.example.com/preferences/${token}?lang=ja`;

function eml(dedupeKey: string, html: string): string {
  return buildEml(
    {
      from: { email: 'shop@oakandember.example.com', name: 'Oak & Ember' },
      to: { email: 'demo-00001@example.com' },
      subject: 'Cross-sell',
      text: 'Picks for you.',
      html,
      categories: ['cross-sell', 'marketing'],
      tags: { messageId: 'm-1', dedupeKey, campaignId: 'cross-sell', customerId: 'demo-00001' },
    },
    { messageId: 'x@oakandember.example.com', date: new Date('2027-03-01T10:00:00Z'), boundary: '=_test' },
  );
}

const footer = (href: string) => `<p>Picks for you. ${'A long line of text to fold. '.repeat(4)}</p><td class="footer"><p><a href="${href.replaceAll('&', '&amp;')}">配信設定</a></p><p><a href="https://mail.shop.example.com/unsubscribe/abc">配信停止</a></p></td>`;

/** The form as messaging's preference page writes it (services/messaging/src/http/preference-routes.ts). */
function page(action: string, optedOut: string[], frequency: string): string {
  const topics = ['offers', 'product-news', 'reviews-and-surveys', 'anniversaries']
    .map((id) => `<label><input type="checkbox" name="topic" value="${id}"${optedOut.includes(id) ? '' : ' checked'}> ${id}<span class="hint">…</span></label>`)
    .join('');
  const frequencies = ['any', 'weekly', 'monthly'].map((f) => `<label><input type="radio" name="frequency" value="${f}"${f === frequency ? ' checked' : ''}> ${f}</label>`).join('');
  return `<!doctype html><h1>Preferences</h1><form method="post" action="${action.replaceAll('&', '&amp;')}"><fieldset>${topics}</fieldset><fieldset>${frequencies}</fieldset><fieldset><label><input type="checkbox" name="all" value="yes"> Unsubscribe from all marketing</label></fieldset><button type="submit">Save</button></form>`;
}

describe('the preference link in a mail', () => {
  it('is found in the HTML part, however quoted-printable folded it, and only a /preferences/ link', () => {
    expect(preferencesLinkIn(eml('k1', footer(link)))).toBe(link);
    expect(preferencesLinkIn(eml('k2', '<p>No links but <a href="https://mail.shop.example.com/unsubscribe/abc">Unsubscribe</a></p>'))).toBeNull();
  });
});

describe('the preference page’s form', () => {
  const form = preferenceForm(page(`/preferences/${token}?lang=en`, ['anniversaries'], 'any'));

  it('reads where it posts, the topics still wanted, the frequency and "unsubscribe from all"', () => {
    expect(form).toEqual({
      action: `/preferences/${token}?lang=en`,
      topics: [
        { id: 'offers', checked: true },
        { id: 'product-news', checked: true },
        { id: 'reviews-and-surveys', checked: true },
        { id: 'anniversaries', checked: false },
      ],
      frequency: 'any',
      frequencies: ['any', 'weekly', 'monthly'],
      all: false,
    });
    expect(preferenceForm('<h1>This link is not valid</h1>')).toBeNull();
  });

  it('posts one change, every other choice as shown, never "unsubscribe from all"', () => {
    if (form === null) throw new Error('no form');
    expect(preferenceFormBody(form, { kind: 'topic', topic: 'offers' }).toString()).toBe('topic=product-news&topic=reviews-and-surveys&frequency=any');
    expect(preferenceFormBody(form, { kind: 'frequency', frequency: 'monthly' }).toString()).toBe('topic=offers&topic=product-news&topic=reviews-and-surveys&frequency=monthly');
    const r = seededRandom(9);
    const changes = Array.from({ length: 200 }, () => choosePreferenceChange(form, r));
    expect(changes.filter((c) => c?.kind === 'topic').every((c) => c?.kind === 'topic' && c.topic !== 'anniversaries')).toBe(true);
    expect(new Set(changes.map((c) => c?.kind))).toEqual(new Set(['topic', 'frequency']));
    expect(changes.filter((c) => c?.kind === 'frequency').every((c) => c?.kind === 'frequency' && c.frequency !== 'any')).toBe(true);
    // Nothing left to change: every topic left and the rarest frequency chosen.
    expect(choosePreferenceChange({ ...form, topics: form.topics.map((t) => ({ ...t, checked: false })), frequencies: ['any'], frequency: 'any' }, r)).toBeNull();
  });
});

describe('a customer’s visit to the preference page from a mail', () => {
  it('follows the mail’s link to where the demo reaches messaging, and posts the form back', async () => {
    const seen: { method: string; url: string; body: string }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        seen.push({ method: request.method ?? '', url: request.url ?? '', body });
        if (request.url?.startsWith(`/preferences/${token}`) !== true) response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>This link is not valid</h1>');
        else if (request.method === 'GET') response.writeHead(200, { 'content-type': 'text/html' }).end(page(`/preferences/${token}?lang=ja`, [], 'any'));
        else response.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Saved</h1>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = z.object({ port: z.number() }).parse(server.address());
    try {
      writeFileSync(join(dir, outboxFileName('cross-sell:demo-00001:o1')), eml('cross-sell:demo-00001:o1', footer(link)));
      const visit = await changePreferencesFromMail({ outboxDir: dir, dedupeKey: 'cross-sell:demo-00001:o1', messagingUrl: `http://127.0.0.1:${port}`, r: seededRandom(1) });
      expect(visit.ok).toBe(true);
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`GET /preferences/${token}?lang=ja`, `POST /preferences/${token}?lang=ja`]);
      const posted = new URLSearchParams(seen[1]?.body);
      if (!visit.ok) throw new Error('no change');
      if (visit.change.kind === 'topic') {
        expect(posted.getAll('topic')).toHaveLength(3);
        expect(posted.getAll('topic')).not.toContain(visit.change.topic);
      } else expect(posted.get('frequency')).toBe(visit.change.frequency);
      expect(posted.has('all')).toBe(false);

      expect(await changePreferencesFromMail({ outboxDir: dir, dedupeKey: 'not-sent', messagingUrl: `http://127.0.0.1:${port}`, r: seededRandom(1) })).toEqual({ ok: false, why: 'no mail file' });
      writeFileSync(join(dir, outboxFileName('cross-sell:demo-00001:o2')), eml('cross-sell:demo-00001:o2', footer('http://mail.shop.example.com/preferences/forged')));
      expect(await changePreferencesFromMail({ outboxDir: dir, dedupeKey: 'cross-sell:demo-00001:o2', messagingUrl: `http://127.0.0.1:${port}`, r: seededRandom(1) })).toEqual({ ok: false, why: 'the preference page answered 404' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
