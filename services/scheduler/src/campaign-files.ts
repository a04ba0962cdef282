import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '@lifecycle/kit';
import { Campaign } from './domain/campaign.ts';

/** A configuration error: start-up stops and names the file and field. */
export class CampaignFileError extends ConfigError {
  override name = 'CampaignFileError';
}

/**
 * Loads every `*.yaml` campaign in the folder. Any mistake stops start-up with the file and
 * field named, so a typo never silently disables a campaign.
 */
export async function loadCampaigns(dir: string): Promise<Campaign[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
  } catch (err) {
    throw new CampaignFileError(`cannot read the campaigns folder ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const problems: string[] = [];
  const campaigns: Campaign[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let raw: unknown;
    try {
      raw = parse(await readFile(file, 'utf8'));
    } catch (err) {
      problems.push(`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const result = Campaign.safeParse(raw);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${file}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
      continue;
    }
    campaigns.push(result.data);
  }
  const ids = new Map<string, number>();
  for (const c of campaigns) ids.set(c.id, (ids.get(c.id) ?? 0) + 1);
  for (const [id, count] of ids) if (count > 1) problems.push(`campaign id "${id}" is used by ${count} files`);
  if (problems.length > 0) throw new CampaignFileError(`invalid campaign files:\n  ${problems.join('\n  ')}`);
  return campaigns;
}
