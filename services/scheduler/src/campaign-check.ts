import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { lineOf } from './campaign-files.ts';
import type { Campaign } from './domain/campaign.ts';
import { templateDataSchema } from './domain/template-data.ts';

/** The templates a campaign sends: its own and its variants'. */
export function templatesOf(campaign: Campaign): string[] {
  return [...new Set([campaign.template, ...(campaign.variants ?? []).flatMap((v) => (v.template === undefined ? [] : [v.template]))])];
}

/**
 * Checks that every template a campaign names exists and that its `sample.json` holds only data
 * the campaign provides (the campaign's template data schema, strictly). Together with the
 * template check, which renders each template against its sample in strict mode, a template
 * variable the campaign never sends fails here, before anyone gets the message.
 */
export async function checkCampaignTemplates(campaigns: readonly Campaign[], templatesDir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const campaign of campaigns) {
    const schema = templateDataSchema(campaign);
    for (const templateId of templatesOf(campaign)) {
      const folder = join(templatesDir, templateId);
      const isDir = await stat(folder).then((s) => s.isDirectory(), () => false);
      if (!isDir) {
        problems.push(`campaign ${campaign.id}: template "${templateId}" does not exist (no folder ${folder})`);
        continue;
      }
      const file = join(folder, 'sample.json');
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text === null) {
        problems.push(`${file}: missing; campaign ${campaign.id} needs sample data to check its template against`);
        continue;
      }
      let sample: unknown;
      try {
        sample = JSON.parse(text);
      } catch (err) {
        problems.push(`${file}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      const result = schema.safeParse(sample);
      if (result.success) continue;
      // JSON is YAML: the YAML parser gives each field's line for the message.
      const lines = new LineCounter();
      const doc = parseDocument(text, { lineCounter: lines });
      for (const issue of result.error.issues) {
        const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
        const message =
          issue.code === 'unrecognized_keys'
            ? `campaign ${campaign.id} does not provide this, so a template must not use it`
            : `${issue.message} (as campaign ${campaign.id} sends it)`;
        for (const path of paths) {
          const line = lineOf(doc, lines, path);
          problems.push(`${file}${line === null ? '' : `:${line}`}: ${path.map(String).join('.') || '(root)'}: ${message}`);
        }
      }
    }
  }
  return problems;
}
