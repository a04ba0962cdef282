import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTemplateCatalog, type LoadedTemplate } from './template-catalog.ts';
import type { RenderedContent } from './domain/template-engine.ts';

const templatesDir = join(import.meta.dirname, '..', '..', '..', 'templates');
const catalog = createTemplateCatalog({ dir: templatesDir });

async function thankYou(): Promise<LoadedTemplate> {
  const lookup = await catalog.get('post-purchase-thank-you');
  if (!lookup.ok) throw new Error(lookup.error);
  return lookup.template;
}

function orderData(overrides: { customer?: Record<string, unknown>; order?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    customer: { id: 'cust-1', email: 'ada@example.com', firstName: 'Ada', ...overrides.customer },
    order: {
      orderId: 'OE-1001',
      total: 1234.5,
      currency: 'USD',
      products: [
        { name: 'Ceramic Dripper', quantity: 1, price: 32 },
        { name: 'Paper Filters', quantity: 3, price: 5.95 },
      ],
      ...overrides.order,
    },
  };
}

async function render(data: Record<string, unknown>, locale = 'en-US'): Promise<RenderedContent> {
  const result = (await thankYou()).compiled.render(data, { locale });
  if (!result.ok) throw new Error(result.error);
  return result.content;
}

describe('post-purchase-thank-you template', () => {
  it('greets the customer by first name in the subject and both parts', async () => {
    const { subject, text, html } = await render(orderData());
    expect(subject).toBe('Thank you for your order, Ada!');
    expect(text).toMatch(/^Hi Ada,/);
    expect(html).toContain('Hi Ada,');
  });

  it('greets "there" when the first name is unknown', async () => {
    const { subject, text, html } = await render(orderData({ customer: { firstName: undefined, name: undefined } }));
    expect(subject).toBe('Thank you for your order!');
    expect(text).toMatch(/^Hi there,/);
    expect(html).toContain('Hi there,');
  });

  it('lists every order line with its quantity and price, and the total in the order currency', async () => {
    const { text, html } = await render(orderData());
    expect(text).toContain('- Ceramic Dripper × 1 — $32.00 each');
    expect(text).toContain('- Paper Filters × 3 — $5.95 each');
    expect(text).toContain('Total: $1,234.50');
    expect(html).toContain('$1,234.50');
  });

  it('formats money for the message locale and the currency’s decimals', async () => {
    const euro = await render(orderData({ order: { currency: 'EUR', total: 1234.5 } }), 'de-DE');
    expect(euro.text).toContain('Total: 1.234,50\u00a0€');
    const yen = await render(orderData({ order: { currency: 'JPY', total: 4500, products: [] } }), 'en');
    expect(yen.text).toContain('Total: ¥4,500');
  });

  it('escapes a hostile product name in the HTML part and keeps it readable in the text part', async () => {
    const hostile = '<img src=x onerror="alert(1)"> & "Mug"';
    const { text, html } = await render(orderData({ order: { products: [{ name: hostile, quantity: 1, price: 9 }] } }));
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt; &amp; &quot;Mug&quot;');
    expect(text).toContain(`- ${hostile} × 1`);
  });

  it('links product names only to http(s) URLs', async () => {
    const { html } = await render(
      orderData({
        order: {
          products: [
            { name: 'Safe', quantity: 1, url: 'https://shop.example.com/p/safe' },
            { name: 'Sneaky', quantity: 1, url: 'javascript:alert(1)' },
          ],
        },
      }),
    );
    expect(html).toContain('<a href="https://shop.example.com/p/safe?utm_source&#x3D;lifecycle&amp;utm_medium&#x3D;email"');
    expect(html).not.toContain('javascript:');
  });

  it('renders its own sample data', async () => {
    const sample: unknown = JSON.parse(await readFile(join(templatesDir, 'post-purchase-thank-you', 'sample.json'), 'utf8'));
    if (typeof sample !== 'object' || sample === null) throw new Error('sample.json is not an object');
    const { subject, text } = await render({ ...sample });
    expect(subject).toBe('Thank you for your order, Ada!');
    expect(text).toContain('Total: €66.95');
  });

  it('is written in Japanese for a ja-JP customer, with yen and the Japanese count', async () => {
    const { subject, text, html } = await render(orderData({ customer: { name: '山田 花子' }, order: { currency: 'JPY', total: 4500 } }), 'ja-JP');
    expect(subject).toBe('山田 花子様、ご注文ありがとうございます');
    expect(text).toContain('ご購入いただいた商品（2点）');
    expect(text).toContain('合計: ￥4,500');
    expect(html).toContain('<html lang="ja">');
  });

  it('falls back to English for a locale without its own variant', async () => {
    const { subject } = await render(orderData(), 'de-DE');
    expect(subject).toBe('Thank you for your order, Ada!');
  });

  it('inlines the layout’s CSS for email clients that drop <style>', async () => {
    const { html } = await render(orderData());
    expect(html).not.toContain('<style>');
    expect(html).toMatch(/<td class="brand" style="padding: 24px 32px 0;[^"]*">Oak &amp; Ember<\/td>/);
  });

  it('shows an unsubscribe link in the footer only when the message has one', async () => {
    const marketing = await render({ ...orderData(), unsubscribeUrl: 'https://mail.example.com/unsubscribe?token=abc' });
    expect(marketing.html).toContain('<a href="https://mail.example.com/unsubscribe?token&#x3D;abc"');
    expect((await render(orderData())).html).not.toContain('unsubscribe');
  });

  it('declares a sender and a transactional category', async () => {
    expect((await thankYou()).meta).toEqual({ fromName: 'Oak & Ember', fromEmail: 'orders@oakandember.example.com', category: 'transactional' });
  });
});

describe('template catalog', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifecycle-templates-'));
    const meta = JSON.stringify({ fromName: 'Shop', fromEmail: 'shop@example.com', category: 'transactional' });
    await mkdir(join(dir, 'broken'));
    await writeFile(join(dir, 'broken', 'subject.hbs'), 'Hello {{#each}}');
    await writeFile(join(dir, 'broken', 'html.hbs'), '<p>hi</p>');
    await writeFile(join(dir, 'broken', 'text.hbs'), 'hi');
    await writeFile(join(dir, 'broken', 'meta.json'), meta);
    await mkdir(join(dir, 'half'));
    await writeFile(join(dir, 'half', 'subject.hbs'), 'Hello');
    await writeFile(join(dir, 'half', 'meta.json'), meta);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says which template is missing and where it was looked for', async () => {
    const lookup = await createTemplateCatalog({ dir }).get('no-such-template');
    expect(lookup).toEqual({ ok: false, error: expect.stringMatching(/^template "no-such-template" not found: .*no-such-template has no readable subject.hbs, html.hbs, text.hbs, meta.json$/) });
  });

  it('names the files a half-written template lacks', async () => {
    const lookup = await createTemplateCatalog({ dir }).get('half');
    expect(lookup.ok ? '' : lookup.error).toMatch(/has no readable html\.hbs, text\.hbs$/);
  });

  it('reports a template that does not compile as an error value instead of throwing', async () => {
    const lookup = await createTemplateCatalog({ dir }).get('broken');
    if (!lookup.ok) throw new Error(lookup.error);
    const result = lookup.template.compiled.render({}, { locale: 'en' });
    expect(result).toEqual({ ok: false, part: 'subject', error: expect.stringContaining('Parse error') });
  });

  it('inlines the CSS of every shipped template once, when it is loaded, in every language', async () => {
    const ids = await catalog.ids();
    expect(ids).toContain('post-purchase-thank-you');
    for (const id of ids) {
      const lookup = await catalog.get(id);
      if (!lookup.ok) throw new Error(lookup.error);
      expect(lookup.template.inlining, id).toEqual(Object.fromEntries(lookup.template.locales.map((locale) => [locale, 'at-load'])));
    }
  });

  it('compiles a template once per process', async () => {
    const first = await catalog.get('post-purchase-thank-you');
    const second = await catalog.get('post-purchase-thank-you');
    expect(first.ok && second.ok && first.template === second.template).toBe(true);
  });
});
