import { readdir, readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { chooseVariant, isLocaleFolder } from './domain/locale-variants.ts';
import { createTemplateEngine, type CompiledTemplate, type TemplateEngine, type TemplateEngineOptions, type TemplateSource } from './domain/template-engine.ts';

/** `meta.json` of a template folder. */
export const TemplateMeta = z.object({
  fromName: z.string().min(1),
  fromEmail: z.email(),
  category: z.enum(['transactional', 'marketing']),
  /** The language of the files at the top of the folder; variants sit in sub-folders (`ja/`). */
  defaultLocale: z.string().min(2).optional(),
});
export type TemplateMeta = z.infer<typeof TemplateMeta>;

export interface LoadedTemplate {
  id: string;
  meta: TemplateMeta;
  /** Renders the variant for `opts.locale`, falling back to the default. */
  compiled: CompiledTemplate;
  /** The default locale first, then every variant folder. */
  locales: string[];
  /** Where each part of each locale was read from, for error messages. */
  files: Record<string, Record<keyof TemplateSource, string>>;
  /**
   * Per locale: `at-load` when the CSS was inlined into the template once (and its sample renders
   * the same as when inlined per message), else `per-message`.
   */
  inlining: Record<string, 'at-load' | 'per-message'>;
}

/** A stand-in for the signed link marketing mail gets, so footers render in checks and previews. */
export const SAMPLE_UNSUBSCRIBE_URL = 'https://mail.example.com/unsubscribe?token=sample';
/** The preference center link marketing samples get beside the unsubscribe link. */
export const SAMPLE_PREFERENCES_URL = 'https://mail.example.com/preferences/sample';

export type TemplateLookup = { ok: true; template: LoadedTemplate } | { ok: false; error: string };

export interface TemplateCatalog {
  /** A template folder, compiled once per process. */
  get: (templateId: string) => Promise<TemplateLookup>;
  /** Every template folder's id (not `_layouts`, `_partials`). */
  ids: () => Promise<string[]>;
}

export interface TemplateCatalogOptions {
  /** The folder holding one sub-folder per template id, and `_layouts/`, `_partials/`. */
  dir: string;
  engine?: TemplateEngine;
  /** Engine settings when no engine is given (`strict` for checks). */
  engineOptions?: Omit<TemplateEngineOptions, 'partials'>;
  /** Compile on every `get` instead of once: the preview page shows edits at once. */
  noCache?: boolean;
}

const parts = ['subject', 'html', 'text'] as const;
const fileOf: Record<keyof TemplateSource, string> = { subject: 'subject.hbs', html: 'html.hbs', text: 'text.hbs' };

const read = (path: string): Promise<string | null> => readFile(path, 'utf8').catch(() => null);

async function readSources(folder: string): Promise<{ ok: true; files: TemplateSource & { meta: string } } | { ok: false; missing: string[] }> {
  const [subject, html, text, meta] = await Promise.all([read(join(folder, 'subject.hbs')), read(join(folder, 'html.hbs')), read(join(folder, 'text.hbs')), read(join(folder, 'meta.json'))]);
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

/** `sample.json` as data, or null when there is none (templates:check reports that). */
function parseSample(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? { ...json } : null;
  } catch {
    return null;
  }
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** `_partials/header.hbs` → `header`, `_layouts/email.hbs` → `layouts/email`. */
export async function readPartials(root: string): Promise<Record<string, string>> {
  const partials: Record<string, string> = {};
  for (const [folder, prefix] of [['_partials', ''], ['_layouts', 'layouts/']] as const) {
    const entries = await readdir(join(root, folder)).catch(() => []);
    for (const name of entries.filter((n) => n.endsWith('.hbs')).sort()) {
      const source = await read(join(root, folder, name));
      if (source !== null) partials[`${prefix}${name.slice(0, -'.hbs'.length)}`] = source;
    }
  }
  return partials;
}

export function createTemplateCatalog(opts: TemplateCatalogOptions): TemplateCatalog {
  const root = resolve(opts.dir);
  let engine: Promise<TemplateEngine> | undefined = opts.engine === undefined ? undefined : Promise.resolve(opts.engine);
  const engineFor = (): Promise<TemplateEngine> => {
    if (engine === undefined || opts.noCache === true) engine = readPartials(root).then((partials) => createTemplateEngine({ ...opts.engineOptions, partials }));
    return engine;
  };
  // Only successes are kept: a folder added or fixed later is picked up without a restart.
  const cache = new Map<string, LoadedTemplate>();
  const inFlight = new Map<string, Promise<TemplateLookup>>();

  const load = async (templateId: string): Promise<TemplateLookup> => {
    const folder = resolve(root, templateId);
    if (!folder.startsWith(root + sep)) return { ok: false, error: `template id "${templateId}" leaves the templates folder` };
    const sources = await readSources(folder);
    if (!sources.ok) return { ok: false, error: `template "${templateId}" not found: ${folder} has no readable ${sources.missing.join(', ')}` };
    const { files } = sources;
    const meta = parseMeta(files.meta);
    if (!meta.ok) return { ok: false, error: `template "${templateId}": ${meta.error}` };
    const hbs = await engineFor();
    const defaultLocale = meta.meta.defaultLocale ?? 'en';
    const base: TemplateSource = { subject: files.subject, html: files.html, text: files.text };
    const fileMap: LoadedTemplate['files'] = { [defaultLocale]: { subject: join(folder, 'subject.hbs'), html: join(folder, 'html.hbs'), text: join(folder, 'text.hbs') } };
    const sample = parseSample(await read(join(folder, 'sample.json')));
    const inlining: LoadedTemplate['inlining'] = {};
    /** Inlining at load is kept only where the sample shows the same HTML as inlining each message. */
    const checked = (locale: string, template: CompiledTemplate): CompiledTemplate => {
      const { perMessage } = template;
      let chosen = template;
      if (perMessage !== undefined && sample !== null) {
        const data = meta.meta.category === 'marketing' ? { ...sample, unsubscribeUrl: SAMPLE_UNSUBSCRIBE_URL, preferencesUrl: SAMPLE_PREFERENCES_URL } : sample;
        const renderOpts = { locale, timeZone: 'UTC', campaignId: templateId };
        const fast = template.render(data, renderOpts);
        const each = perMessage.render(data, renderOpts);
        if (!fast.ok || !each.ok || fast.content.html !== each.content.html) chosen = perMessage;
      }
      inlining[locale] = chosen.perMessage === undefined ? 'per-message' : 'at-load';
      return chosen;
    };
    const variants = new Map<string, CompiledTemplate>();
    for (const name of (await subfolders(folder)).filter(isLocaleFolder)) {
      // A variant may translate only some parts; the others come from the default.
      const variant: TemplateSource = { ...base };
      const paths = { ...(fileMap[defaultLocale] ?? { subject: '', html: '', text: '' }) };
      for (const part of parts) {
        const source = await read(join(folder, name, fileOf[part]));
        if (source !== null) {
          variant[part] = source;
          paths[part] = join(folder, name, fileOf[part]);
        }
      }
      variants.set(name, checked(name, hbs.compile(variant)));
      fileMap[name] = paths;
    }
    const fallback = checked(defaultLocale, hbs.compile(base));
    const available = [...variants.keys()];
    const compiled: CompiledTemplate = {
      render: (data, renderOpts) => {
        const chosen = chooseVariant(available, renderOpts.locale);
        return (chosen === null ? undefined : variants.get(chosen) ?? undefined)?.render(data, renderOpts) ?? fallback.render(data, renderOpts);
      },
    };
    return { ok: true, template: { id: templateId, meta: meta.meta, compiled, locales: [defaultLocale, ...available.filter((l) => l !== defaultLocale)], files: fileMap, inlining } };
  };

  return {
    get: async (templateId) => {
      if (opts.noCache === true) return load(templateId);
      const cached = cache.get(templateId);
      if (cached !== undefined) return { ok: true, template: cached };
      // One load per template however many messages ask for it at once (a chunk renders side by side).
      let loading = inFlight.get(templateId);
      if (loading === undefined) {
        loading = load(templateId).finally(() => inFlight.delete(templateId));
        inFlight.set(templateId, loading);
      }
      const lookup = await loading;
      if (lookup.ok) cache.set(templateId, lookup.template);
      return lookup;
    },
    ids: async () => (await subfolders(root)).filter((name) => /^[a-z0-9][a-z0-9-]*$/.test(name)),
  };
}
