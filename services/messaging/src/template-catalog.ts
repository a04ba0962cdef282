import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { createTemplateEngine, type CompiledTemplate, type TemplateEngine } from './domain/template-engine.ts';

/** `meta.json` of a template folder. */
export const TemplateMeta = z.object({
  fromName: z.string().min(1),
  fromEmail: z.email(),
  category: z.enum(['transactional', 'marketing']),
});
export type TemplateMeta = z.infer<typeof TemplateMeta>;

export interface LoadedTemplate {
  id: string;
  meta: TemplateMeta;
  compiled: CompiledTemplate;
}

export type TemplateLookup = { ok: true; template: LoadedTemplate } | { ok: false; error: string };

export interface TemplateCatalog {
  /** A template folder, compiled once per process. */
  get: (templateId: string) => Promise<TemplateLookup>;
}

export interface TemplateCatalogOptions {
  /** The folder holding one sub-folder per template id. */
  dir: string;
  engine?: TemplateEngine;
}

interface TemplateFiles {
  subject: string;
  html: string;
  text: string;
  meta: string;
}

async function readSources(folder: string): Promise<{ ok: true; files: TemplateFiles } | { ok: false; missing: string[] }> {
  const read = (name: string): Promise<string | null> => readFile(join(folder, name), 'utf8').catch(() => null);
  const [subject, html, text, meta] = await Promise.all([read('subject.hbs'), read('html.hbs'), read('text.hbs'), read('meta.json')]);
  if (subject !== null && html !== null && text !== null && meta !== null) return { ok: true, files: { subject, html, text, meta } };
  const found: [string, string | null][] = [['subject.hbs', subject], ['html.hbs', html], ['text.hbs', text], ['meta.json', meta]];
  return { ok: false, missing: found.filter(([, content]) => content === null).map(([name]) => name) };
}

function parseMeta(text: string): { ok: true; meta: TemplateMeta } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `meta.json is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = TemplateMeta.safeParse(json);
  if (parsed.success) return { ok: true, meta: parsed.data };
  return { ok: false, error: `meta.json: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
}

export function createTemplateCatalog(opts: TemplateCatalogOptions): TemplateCatalog {
  const engine = opts.engine ?? createTemplateEngine();
  const root = resolve(opts.dir);
  // Only successes are kept: a folder added or fixed later is picked up without a restart.
  const cache = new Map<string, LoadedTemplate>();

  const load = async (templateId: string): Promise<TemplateLookup> => {
    const folder = resolve(root, templateId);
    if (!folder.startsWith(root + sep)) return { ok: false, error: `template id "${templateId}" leaves the templates folder` };
    const sources = await readSources(folder);
    if (!sources.ok) return { ok: false, error: `template "${templateId}" not found: ${folder} has no readable ${sources.missing.join(', ')}` };
    const { files } = sources;
    const meta = parseMeta(files.meta);
    if (!meta.ok) return { ok: false, error: `template "${templateId}": ${meta.error}` };
    const compiled = engine.compile({ subject: files.subject, html: files.html, text: files.text });
    return { ok: true, template: { id: templateId, meta: meta.meta, compiled } };
  };

  return {
    get: async (templateId) => {
      const cached = cache.get(templateId);
      if (cached !== undefined) return { ok: true, template: cached };
      const lookup = await load(templateId);
      if (lookup.ok) cache.set(templateId, lookup.template);
      return lookup;
    },
  };
}
