import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseArgs } from 'node:util';
import type { CommandContext } from '@lifecycle/kit/command';
import { loadCampaigns } from './campaign-files.ts';
import { loadConfig } from './config.ts';
import type { Campaign } from './domain/campaign.ts';

/**
 * The problems of the campaigns' templates (each exists, its sample holds only data its
 * campaign sends), from the service that owns the templates; `./lifecycle` passes messaging's.
 */
export type TemplateProblems = (campaigns: readonly Campaign[], templatesDir: string | undefined) => Promise<string[]>;

/**
 * What `campaigns:check` finds in a folder: the campaign files' mistakes (file, line and field),
 * else, given a check of the templates, theirs; no problems when the folder passes.
 */
export async function checkCampaignFolder(dir: string, templateProblems?: TemplateProblems, templatesDir?: string, consentFile?: string): Promise<{ campaigns: Campaign[]; problems: string[]; in: 'files' | 'templates' }> {
  let loaded;
  try {
    loaded = await loadCampaigns(dir, consentFile);
  } catch (err) {
    return { campaigns: [], problems: [err instanceof Error ? err.message : String(err)], in: 'files' };
  }
  const offers = await offerPoolProblems(dir, loaded.campaigns);
  if (offers.length > 0) return { campaigns: loaded.campaigns, problems: offers, in: 'files' };
  const problems = templateProblems === undefined ? [] : await templateProblems(loaded.campaigns, templatesDir);
  return { campaigns: loaded.campaigns, problems, in: 'templates' };
}

/** Campaigns whose `offer.pool` is not a pool of `_coupons.yaml` (messaging's file) beside them: they would send no mail. */
async function offerPoolProblems(dir: string, campaigns: readonly Campaign[]): Promise<string[]> {
  const withOffer = campaigns.filter((c) => c.offer !== undefined);
  if (withOffer.length === 0) return [];
  const file = join(dir, '_coupons.yaml');
  let pools: unknown;
  try {
    pools = parse(await readFile(file, 'utf8'))?.pools;
  } catch (err) {
    return [`${file}: cannot read the coupon pools (${err instanceof Error ? err.message : String(err)}); campaigns ${withOffer.map((c) => c.id).join(', ')} need them`];
  }
  const names = typeof pools === 'object' && pools !== null ? Object.keys(pools) : [];
  return withOffer.filter((c) => c.offer !== undefined && !names.includes(c.offer.pool)).map((c) => `campaign ${c.id}: offer.pool: no pool "${c.offer?.pool ?? ''}" in ${file} (pools: ${names.join(', ') || 'none'})`);
}

/**
 * `campaigns:check [--dir D] [--templates D]`: validate every campaign file (file, line and field
 * of each mistake) and, given a check of their templates, the templates' data; exit 1 on a problem.
 */
export async function campaignsCheck(args: string[], { say, env }: CommandContext, templateProblems?: TemplateProblems): Promise<number> {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' }, templates: { type: 'string' } }, strict: true });
  const dir = resolve(values.dir ?? loadConfig(env).CAMPAIGNS_DIR);
  // CONSENT_FILE when set, else `_consent.yaml` beside the campaigns checked.
  const consentFile = env['CONSENT_FILE'];
  const checked = await checkCampaignFolder(dir, templateProblems, values.templates, consentFile === undefined || consentFile === '' ? undefined : resolve(consentFile));
  for (const problem of checked.problems) process.stdout.write(`${problem}\n`);
  if (checked.problems.length > 0) {
    if (checked.in === 'templates') say(`${checked.problems.length} problem(s)`);
    return 1;
  }
  for (const c of checked.campaigns) say(`ok ${c.id}${c.enabled ? '' : ' (disabled)'}`);
  say(`${checked.campaigns.length} campaign(s) checked in ${dir}${templateProblems === undefined ? ' (their templates are checked by messaging: templates:check)' : ''}`);
  return 0;
}
