import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTemplateCatalog, SAMPLE_PREFERENCES_URL, SAMPLE_UNSUBSCRIBE_URL, type LoadedTemplate } from './template-catalog.ts';
import type { RenderResult } from './domain/template-engine.ts';

/** One thing wrong with a template, located as precisely as Handlebars allows. */
export interface TemplateProblem {
  templateId: string;
  locale: string | null;
  file: string;
  line: number | null;
  column: number | null;
  message: string;
}

export interface TemplateCheckReport {
  checked: { templateId: string; locales: string[] }[];
  problems: TemplateProblem[];
}

export { SAMPLE_PREFERENCES_URL, SAMPLE_UNSUBSCRIBE_URL } from './template-catalog.ts';

/** `"totl" not defined in [object Object] - 3:12` and `Parse error on line 3:` → line and column. */
export function locateError(message: string): { line: number | null; column: number | null } {
  const strict = / - (\d+):(\d+)$/.exec(message);
  if (strict !== null) return { line: Number(strict[1]), column: Number(strict[2]) + 1 };
  const parse = /Parse error on line (\d+)/.exec(message);
  if (parse !== null) return { line: Number(parse[1]), column: null };
  return { line: null, column: null };
}

export async function readSample(dir: string, templateId: string): Promise<{ ok: true; data: Record<string, unknown> } | { ok: false; error: string }> {
  const text = await readFile(join(dir, templateId, 'sample.json'), 'utf8').catch(() => null);
  if (text === null) return { ok: false, error: 'sample.json is missing: every template needs realistic sample data' };
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, error: 'sample.json must hold a JSON object' };
    return { ok: true, data: { ...json } };
  } catch (err) {
    return { ok: false, error: `sample.json is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Renders a template's sample for one locale, as a marketing message would get it. */
export function renderSample(template: LoadedTemplate, sample: Record<string, unknown>, locale: string): RenderResult {
  const data = template.meta.category === 'marketing' ? { ...sample, unsubscribeUrl: SAMPLE_UNSUBSCRIBE_URL, preferencesUrl: SAMPLE_PREFERENCES_URL } : sample;
  return template.compiled.render(data, { locale, timeZone: 'UTC', campaignId: template.id });
}

/**
 * What `./lifecycle templates:check` runs: every template folder compiles, and renders in every
 * locale with its `sample.json` in strict mode, so a variable the sample (the campaign's data)
 * does not provide fails here, naming the file and line, instead of at send time.
 */
export async function checkTemplates(dir: string): Promise<TemplateCheckReport> {
  const catalog = createTemplateCatalog({ dir, engineOptions: { strict: true }, noCache: true });
  const report: TemplateCheckReport = { checked: [], problems: [] };
  for (const templateId of await catalog.ids()) {
    const folder = join(dir, templateId);
    const lookup = await catalog.get(templateId);
    if (!lookup.ok) {
      report.problems.push({ templateId, locale: null, file: folder, line: null, column: null, message: lookup.error });
      continue;
    }
    const template = lookup.template;
    const sample = await readSample(dir, templateId);
    if (!sample.ok) {
      report.problems.push({ templateId, locale: null, file: join(folder, 'sample.json'), line: null, column: null, message: sample.error });
      continue;
    }
    for (const locale of template.locales) {
      const result = renderSample(template, sample.data, locale);
      if (result.ok) continue;
      const file = (result.part === undefined ? undefined : template.files[locale]?.[result.part]) ?? folder;
      // Handlebars' strict-mode text names the object as "[object Object]"; the line is shown in front.
      const message = result.error.replace(/ not defined in .* - \d+:\d+$/, ' is not in the sample data (sample.json)');
      report.problems.push({ templateId, locale, file, ...locateError(result.error), message });
    }
    report.checked.push({ templateId, locales: template.locales });
  }
  return report;
}

export function formatProblem(p: TemplateProblem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}${p.column === null ? '' : `:${p.column}`}`;
  return `${where}: ${p.locale === null ? '' : `[${p.locale}] `}${p.message}`;
}
