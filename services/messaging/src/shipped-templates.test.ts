import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTemplateCatalog, SAMPLE_PREFERENCES_URL, SAMPLE_UNSUBSCRIBE_URL, type LoadedTemplate } from './template-catalog.ts';
import type { RenderedContent } from './domain/template-engine.ts';

// The shipped templates as a customer gets them: strict, so a variable a message lacks fails here.
const templatesDir = join(import.meta.dirname, '..', '..', '..', 'templates');
const catalog = createTemplateCatalog({ dir: templatesDir, engineOptions: { strict: true } });

async function template(id: string): Promise<LoadedTemplate> {
  const lookup = await catalog.get(id);
  if (!lookup.ok) throw new Error(lookup.error);
  return lookup.template;
}

async function sampleOf(id: string): Promise<Record<string, unknown>> {
  const json: unknown = JSON.parse(await readFile(join(templatesDir, id, 'sample.json'), 'utf8'));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${id}/sample.json is not an object`);
  return { ...json, unsubscribeUrl: SAMPLE_UNSUBSCRIBE_URL, preferencesUrl: SAMPLE_PREFERENCES_URL };
}

async function render(id: string, data: Record<string, unknown>, locale: string, timeZone = 'UTC'): Promise<RenderedContent> {
  const result = (await template(id)).compiled.render(data, { locale, timeZone, campaignId: id });
  if (!result.ok) throw new Error(`${id} [${locale}]: ${result.error}`);
  return result.content;
}

const grids = (html: string): number => html.split('class="grid"').length - 1;

/** Every table row and cell the template opens, it closes: a section dropped whole leaves none open. */
function expectBalancedTables(html: string): void {
  for (const tag of ['table', 'tr', 'td']) {
    const opened = html.match(new RegExp(`<${tag}[\\s>]`, 'g'))?.length ?? 0;
    expect(opened, tag).toBeGreaterThan(0);
    expect(html.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0, tag).toBe(opened);
  }
}

const withRecommendations = ['cross-sell', 'cart-abandonment', 'cart-abandonment-reminder', 'browse-abandonment', 'win-back-at-risk', 'win-back-lapsed', 'replenishment-reminder'];

describe('recommendations in the shipped templates', () => {
  it.each(withRecommendations)('%s shows them in a product grid, and leaves no trace of the section when there are none', async (id) => {
    const sample = await sampleOf(id);
    const names = z.array(z.object({ name: z.string() })).parse(sample['recommendations']).map((p) => p.name);
    expect(names.length).toBeGreaterThan(0);
    for (const locale of ['en', 'ja']) {
      const full = await render(id, sample, locale);
      for (const name of names) {
        expect(full.html).toContain(name);
        expect(full.text).toContain(name);
      }
      const empty = await render(id, { ...sample, recommendations: [] }, locale);
      // Win-back for lapsed customers shows their last order instead, when it has one.
      expect(grids(empty.html)).toBe(id === 'win-back-lapsed' ? grids(full.html) : grids(full.html) - 1);
      // Names may also be in the last order or the cart: only those the section alone showed must go.
      const own = names.filter((n) => !JSON.stringify({ ...sample, recommendations: [] }).includes(n));
      for (const name of own) expect(empty.text).not.toContain(name);
      expect(empty.text).not.toMatch(/\n\s*\n\s*\n/);
      expect(empty.html).not.toMatch(/<td[^>]*>\s*<\/td>/);
      expectBalancedTables(full.html);
      expectBalancedTables(empty.html);
    }
  });

  it('prices each recommendation in its own currency, whatever the cart is in', async () => {
    const sample = await sampleOf('cart-abandonment');
    const mug = { name: 'Stoneware Mug', price: 2700, currency: 'JPY', url: 'https://oakandember.example.com/products/stoneware-mug', reason: 'alternative' };
    const ja = await render('cart-abandonment', { ...sample, recommendations: [mug] }, 'ja-JP');
    expect(ja.text).toContain('- Stoneware Mug — ￥2,700');
    expect(ja.html).toContain('￥2,700');
    expect(ja.text).toContain('合計: €118.00');
    const en = await render('cart-abandonment', { ...sample, recommendations: [mug] }, 'en-US');
    expect(en.html).toContain('¥2,700');
    expect(en.html).not.toMatch(/€2,700/);
    // A recommendation is not a line with a quantity: no "each" after its price.
    expect(en.html).not.toMatch(/¥2,700 each/);
  });
});

describe('win-back for lapsed customers', () => {
  it('shows their last order when there is nothing to recommend', async () => {
    const sample = await sampleOf('win-back-lapsed');
    const en = await render('win-back-lapsed', { ...sample, recommendations: [] }, 'en');
    expect(en.text).toContain('Here is what you ordered last time');
    expect(en.text).not.toContain('picks for you');
    const full = await render('win-back-lapsed', sample, 'en');
    expect(full.text).not.toContain('Here is what you ordered last time');
  });
});

describe('coupons in the shipped templates', () => {
  const offerTemplates = ['birthday', 'first-order-anniversary', 'win-back-at-risk', 'win-back-lapsed'];

  it.each(offerTemplates)('%s prints the customer’s own code and its last day, in their language and zone', async (id) => {
    const sample = await sampleOf(id);
    const offer = { code: 'TEST-ABCDEFGHJK9Z', expiresAt: '2027-07-03T06:59:59.999Z', expiresOn: '2027-07-02', percent: 15 };
    // Los Angeles is behind UTC: the day must not slip to 1 July.
    const en = await render(id, { ...sample, offer }, 'en-US', 'America/Los_Angeles');
    expect(en.html).toContain('TEST-ABCDEFGHJK9Z');
    expect(en.text).toContain('TEST-ABCDEFGHJK9Z');
    expect(en.text).toContain('July 2, 2027');
    expect(en.html).toContain('15% off');
    expect(`${en.text}${en.html}${en.subject}`).not.toMatch(/within \d|\d+ days/);
    const ja = await render(id, { ...sample, offer }, 'ja-JP', 'Asia/Tokyo');
    expect(ja.text).toContain('TEST-ABCDEFGHJK9Z');
    expect(ja.text).toContain('有効期限は2027年7月2日まで');
    expect(ja.html).toContain('15%オフ');
    expect(`${ja.text}${ja.html}${ja.subject}`).not.toMatch(/日間/);
  });

  it('shows an amount off in the currency it is in', async () => {
    const sample = await sampleOf('birthday');
    const offer = { code: 'TEST-ABCDEFGHJK9Z', expiresAt: '2027-07-03T03:59:59.999Z', expiresOn: '2027-07-02', amount: 10, currency: 'USD' };
    const en = await render('birthday', { ...sample, offer }, 'en-US', 'America/New_York');
    expect(en.subject).toContain('Here is $10.00 off');
    expect(en.text).toContain('$10.00 off your next order');
    const ja = await render('birthday', { ...sample, offer }, 'ja-JP', 'Asia/Tokyo');
    expect(ja.text).toContain('$10.00オフのクーポン');
  });
});

describe('catalog campaign templates', () => {
  it('remind of a product by when it was last ordered and how often', async () => {
    const sample = await sampleOf('replenishment-reminder');
    const en = await render('replenishment-reminder', sample, 'en-US', 'Europe/Berlin');
    expect(en.subject).toBe('Hedy, running low on House Espresso Blend 500 g?');
    expect(en.text).toContain('you last ordered the House Espresso Blend 500 g on February 15, 2027. You usually order it about every 30 days');
    const ja = await render('replenishment-reminder', sample, 'ja-JP', 'Asia/Tokyo');
    expect(ja.text).toContain('2027年2月15日に「House Espresso Blend 500 g」をご注文いただきました。いつもおよそ30日ごとに');
  });

  it('show a price drop beside the old price, both in the product’s currency', async () => {
    const sample = await sampleOf('price-drop');
    const en = await render('price-drop', sample, 'en-US');
    expect(en.subject).toBe('Price drop: Gooseneck Pour-Over Kettle is now €49.00');
    expect(en.text).toContain('Gooseneck Pour-Over Kettle — now €49.00, was €59.00');
    expect(en.html).toMatch(/<s[^>]*>€59\.00<\/s> <strong>€49\.00<\/strong>/);
    const { previousPrice: _previous, ...product } = z.looseObject({ previousPrice: z.number() }).parse(sample['product']);
    const withoutPrevious = await render('price-drop', { ...sample, product }, 'ja-JP');
    expect(withoutPrevious.text).toContain('Gooseneck Pour-Over Kettle — €49.00\n');
    expect(withoutPrevious.html).not.toMatch(/<s[\s>]/);
  });

  it('announce a product back in stock, in English and Japanese', async () => {
    const sample = await sampleOf('back-in-stock');
    expect((await render('back-in-stock', sample, 'en')).subject).toBe('Back in stock: Hand Burr Grinder');
    expect((await render('back-in-stock', sample, 'ja-JP')).subject).toBe('Katherine Johnson様、「Hand Burr Grinder」が再入荷しました');
  });
});

describe('consent links and the double opt-in mail', () => {
  it('give marketing mail a “Manage preferences” link in the footer, in the template’s language', async () => {
    const sample = await sampleOf('back-in-stock');
    const en = await render('back-in-stock', sample, 'en');
    expect(en.html).toMatch(new RegExp(`<a href="${SAMPLE_PREFERENCES_URL}"[^>]*>Manage preferences</a>`));
    const ja = await render('back-in-stock', sample, 'ja-JP');
    expect(ja.html).toMatch(new RegExp(`<a href="${SAMPLE_PREFERENCES_URL}"[^>]*>配信設定</a>`));
    // Transactional mail gets neither link.
    const receipt = await render('post-purchase-thank-you', await sampleOf('post-purchase-thank-you'), 'en');
    expect(receipt.html).toContain('Unsubscribe');
    const { preferencesUrl: _p, unsubscribeUrl: _u, ...withoutLinks } = await sampleOf('post-purchase-thank-you');
    const plain = await render('post-purchase-thank-you', withoutLinks, 'en');
    expect(plain.html).not.toMatch(/Manage preferences|Unsubscribe/);
  });

  it('asks to confirm a subscription with the link, in English and Japanese', async () => {
    const confirm = await template('confirm-subscription');
    expect(confirm.meta.category).toBe('transactional');
    const { preferencesUrl: _p, unsubscribeUrl: _u, ...sample } = await sampleOf('confirm-subscription');
    const en = await render('confirm-subscription', sample, 'de-DE');
    expect(en.subject).toBe('Please confirm your subscription to Oak & Ember');
    // Handlebars escapes "=" in attributes as &#x3D;, which the browser reads back as "=".
    expect(en.html).toContain('<a href="https://mail.example.com/confirm/sample?lang&#x3D;en"');
    expect(en.text).toContain('https://mail.example.com/confirm/sample?lang=en');
    const ja = await render('confirm-subscription', sample, 'ja-JP');
    expect(ja.subject).toBe('Oak & Ember メール配信登録のご確認');
    expect(ja.html).toContain('登録を確認する');
    expect(`${en.html}${ja.html}`).not.toMatch(/Manage preferences|配信設定|Unsubscribe|配信停止/);
  });
});
