import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPartials } from '../template-catalog.ts';
import { createTemplateEngine, type TemplateSource } from './template-engine.ts';

const templatesDir = join(import.meta.dirname, '..', '..', '..', '..', 'templates');
const layout = `<html><head><style>
  .card { padding: 4px; }
  td p { color: red; }
  td { border: 0; }
  @media (max-width: 600px) { .card { padding: 0; } }
</style></head><body><table class="card">{{> @partial-block}}</table></body></html>`;

function source(html: string): TemplateSource {
  return { subject: 'Hi', html, text: 'Hi' };
}

describe('CSS inlined when a template is compiled', () => {
  it('gives the shipped templates, in every language, byte for byte the HTML of inlining each rendered message', async () => {
    const partials = await readPartials(templatesDir);
    const ahead = createTemplateEngine({ partials });
    const each = createTemplateEngine({ partials, inlineAheadOfTime: false });
    const ids = (await readdir(templatesDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('_')).map((e) => e.name);
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) {
      const folder = join(templatesDir, id);
      const read = (path: string): Promise<string> => readFile(join(folder, path), 'utf8');
      const sample: Record<string, unknown> = { ...JSON.parse(await read('sample.json')), unsubscribeUrl: 'https://mail.example.com/u?token=t' };
      const base: TemplateSource = { subject: await read('subject.hbs'), html: await read('html.hbs'), text: await read('text.hbs') };
      const ja: TemplateSource = { subject: await read('ja/subject.hbs').catch(() => base.subject), html: await read('ja/html.hbs').catch(() => base.html), text: await read('ja/text.hbs').catch(() => base.text) };
      for (const [locale, variant] of [['en-US', base], ['ja-JP', ja]] as const) {
        const fast = ahead.compile(variant);
        expect(fast.perMessage, `${id} ${locale} is inlined at compile time`).toBeDefined();
        for (const data of [sample, { ...sample, unsubscribeUrl: undefined }]) {
          const expected = each.compile(variant).render(data, { locale, timeZone: 'UTC', campaignId: id });
          expect(expected.ok).toBe(true);
          expect(fast.render(data, { locale, timeZone: 'UTC', campaignId: id }), `${id} ${locale}`).toEqual(expected);
        }
      }
    }
  });

  it('inlines rules from the layout into the template, keeps media queries, and leaves the Handlebars in place', () => {
    const engine = createTemplateEngine({ partials: { 'layouts/email': layout } });
    const compiled = engine.compile(source('{{#> layouts/email}}<tr><td{{#if wide}} colspan="2"{{/if}}><p>{{name}}</p></td></tr>{{/layouts/email}}'));
    expect(compiled.perMessage).toBeDefined();
    const result = compiled.render({ name: '<b>Ada</b>', wide: true }, { locale: 'en' });
    expect(result).toEqual(compiled.perMessage?.render({ name: '<b>Ada</b>', wide: true }, { locale: 'en' }));
    expect(result.ok && result.content.html).toContain('<td colspan="2" style="border: 0;"><p style="color: red;">&lt;b&gt;Ada&lt;/b&gt;</p></td>');
    expect(result.ok && result.content.html).toContain('@media (max-width: 600px)');
  });

  it.each([
    ['a class that comes from data', '{{#> layouts/email}}<tr><td class="{{kind}}">x</td></tr>{{/layouts/email}}'],
    ['a class added by a condition', '{{#> layouts/email}}<tr><td {{#if a}}class="card"{{/if}}>x</td></tr>{{/layouts/email}}'],
    ['HTML from data', '{{#> layouts/email}}<tr><td>{{{html}}}</td></tr>{{/layouts/email}}'],
    ['a <style> of its own', '{{#> layouts/email}}<style>td { color: blue; }</style><tr><td>x</td></tr>{{/layouts/email}}'],
  ])('inlines each rendered message when the template has %s', (_, html) => {
    const compiled = createTemplateEngine({ partials: { 'layouts/email': layout } }).compile(source(html));
    expect(compiled.perMessage).toBeUndefined();
    const result = compiled.render({ kind: 'card', a: true, html: '<p>x</p>' }, { locale: 'en' });
    expect(result.ok && result.content.html).toContain('style="');
  });

  it('inlines each rendered message when a rule joins an element of the layout with one of the template', () => {
    const acrossFiles = layout.replace('td p {', '.card p {');
    const compiled = createTemplateEngine({ partials: { 'layouts/email': acrossFiles } }).compile(source('{{#> layouts/email}}<tr><td><p>{{name}}</p></td></tr>{{/layouts/email}}'));
    expect(compiled.perMessage).toBeUndefined();
    const result = compiled.render({ name: 'Ada' }, { locale: 'en' });
    expect(result.ok && result.content.html).toContain('<p style="color: red;">Ada</p>');
  });

  it('inlines each rendered message when a rule depends on siblings or position', () => {
    const withSiblings = layout.replace('td { border: 0; }', 'td:first-child { border: 0; }');
    const compiled = createTemplateEngine({ partials: { 'layouts/email': withSiblings } }).compile(source('{{#> layouts/email}}<tr>{{#each cells}}<td>{{this}}</td>{{/each}}</tr>{{/layouts/email}}'));
    expect(compiled.perMessage).toBeUndefined();
    const result = compiled.render({ cells: ['a', 'b'] }, { locale: 'en' });
    expect(result.ok && result.content.html).toContain('<td style="border: 0;">a</td><td>b</td>');
  });
});
