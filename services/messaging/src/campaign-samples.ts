import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { CampaignTemplateUse, templateDataSchema, templatesOf } from '@lifecycle/contracts';

/** The line of the deepest node a path reaches in a parsed document (the field, else its nearest parent). */
function lineAt(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return null;
}

/**
 * What each campaign file in the folder gives its templates, by the shared contract. The
 * scheduler validates the files in full (`campaigns:check`); a file this reading cannot use is
 * a problem here too, so a template is never checked against a campaign read wrong.
 */
export async function readCampaignUses(dir: string): Promise<{ campaigns: CampaignTemplateUse[]; problems: string[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => (n.endsWith('.yaml') || n.endsWith('.yml')) && !n.startsWith('_')).sort();
  } catch (err) {
    return { campaigns: [], problems: [`cannot read the campaigns folder ${dir}: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const campaigns: CampaignTemplateUse[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const doc = parseDocument(await readFile(file, 'utf8'));
    const parsed = doc.errors.length > 0 ? null : CampaignTemplateUse.safeParse(doc.toJS());
    if (parsed?.success === true) campaigns.push(parsed.data);
    else problems.push(`${file}: not a campaign this check can read; ./lifecycle campaigns:check says what is wrong`);
  }
  return { campaigns, problems };
}

/**
 * Checks that every template a campaign names exists and that its `sample.json` holds only data
 * the campaign provides (the campaign's template data schema, strictly). Together with the
 * template check, which renders each template against its sample in strict mode, a template
 * variable the campaign never sends fails here, before anyone gets the message.
 */
export async function checkCampaignSamples(campaigns: readonly CampaignTemplateUse[], templatesDir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const campaign of campaigns) {
    const schema = templateDataSchema(campaign);
    for (const templateId of templatesOf(campaign)) {
      const folder = join(templatesDir, templateId);
      if (!(await stat(folder).then((s) => s.isDirectory(), () => false))) {
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
          const line = lineAt(doc, lines, path);
          problems.push(`${file}${line === null ? '' : `:${line}`}: ${path.map(String).join('.') || '(root)'}: ${message}`);
        }
      }
    }
  }
  return problems;
}
