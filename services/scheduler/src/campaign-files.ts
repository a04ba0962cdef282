import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '@lifecycle/kit';
import { ConsentSettings } from '@lifecycle/contracts';
import { Campaign, CampaignSettings } from './domain/campaign.ts';

/** A configuration error: start-up stops and names the file, line and field. */
export class CampaignFileError extends ConfigError {
  override name = 'CampaignFileError';
}

/** The store-wide settings file beside the campaigns; its name starts with `_`, so it is no campaign. */
export const SETTINGS_FILE = '_settings.yaml';

/** The consent settings beside the campaigns (messaging's and the scheduler's): the topics a marketing campaign may name. */
export const CONSENT_FILE = '_consent.yaml';

/** A campaign's file as it is in the repository, for people reading it (the console). */
export interface CampaignSource {
  campaignId: string;
  /** The file's name in the campaigns folder (`birthday.yaml`). */
  file: string;
  yaml: string;
}

export interface CampaignSet {
  campaigns: Campaign[];
  settings: CampaignSettings;
  /** Each campaign's file, in the order of `campaigns`. */
  sources: CampaignSource[];
  /** `_consent.yaml` (or `CONSENT_FILE`); no topics when there is none. */
  consent: ConsentSettings;
}

/** The line of the deepest node the path reaches (the field itself, or its nearest parent). */
export function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return null;
}

/** A branch's issues that say "this is not the branch you meant": wrong type or unknown keys at its root. */
function mismatches(issues: readonly z.core.$ZodIssue[]): number {
  return issues.filter((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'unrecognized_keys')).length;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

/**
 * zod reports a value matching no shape of a union (`trigger`, `delay`, `reentry`) as one
 * "Invalid input". A marketer needs the mistake in the shape they meant: the branch that got
 * furthest, with the fewest mismatches at its root, and its own messages.
 */
export function explainIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ path, message: issue.message }];
    const ranked = [...issue.errors].sort((a, b) => mismatches(a) - mismatches(b) || depth(b) - depth(a) || a.length - b.length);
    const best = ranked[0] ?? [];
    return explainIssues(best, path);
  });
}

type Parsed<T> = { ok: true; value: T; text: string } | { ok: false; problems: string[] };

async function parseFile<S extends z.ZodType>(file: string, schema: S): Promise<Parsed<z.infer<S>>> {
  const lines = new LineCounter();
  let doc: Document;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? 1}: not valid YAML: ${e.message.split('\n')[0] ?? ''}`) };
  }
  const result = schema.safeParse(doc.toJS() ?? {});
  if (result.success) return { ok: true, value: result.data, text };
  return {
    ok: false,
    problems: explainIssues(result.error.issues).map((issue) => {
      const line = lineOf(doc, lines, issue.path);
      return `${file}${line !== null ? `:${line}` : ''}: ${issue.path.map(String).join('.') || '(file)'}: ${issue.message}`;
    }),
  };
}

/**
 * The consent settings: `consentFile`, else `_consent.yaml` beside the campaigns. A missing file
 * is a store without topics or double opt-in; a broken one is a mistake like any other.
 */
async function loadConsent(file: string): Promise<Parsed<ConsentSettings>> {
  try {
    await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, value: ConsentSettings.parse({}), text: '' };
  }
  return parseFile(file, ConsentSettings);
}

/**
 * Loads every `*.yaml` campaign in the folder, the store settings (`_settings.yaml`, optional)
 * and the consent settings (`_consent.yaml` or `consentFile`, optional). Every mistake in every
 * file is reported at once with file, line and field, and start-up stops, so a typo never
 * silently disables a campaign.
 */
export async function loadCampaigns(dir: string, consentFile?: string): Promise<CampaignSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
  } catch (err) {
    throw new CampaignFileError(`cannot read the campaigns folder ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const problems: string[] = [];
  const campaigns: Campaign[] = [];
  const sources: CampaignSource[] = [];
  let settings = CampaignSettings.parse({});
  for (const name of names) {
    const file = join(dir, name);
    // Messaging's coupon pools (campaigns/_coupons.yaml): campaigns:check checks offers against it.
    if (name === '_coupons.yaml') continue;
    // The consent settings are read below, from CONSENT_FILE when it points elsewhere.
    if (name === CONSENT_FILE) continue;
    if (name.startsWith('_')) {
      if (name !== SETTINGS_FILE) {
        problems.push(`${file}: files starting with "_" are reserved; the store settings file is ${SETTINGS_FILE}`);
        continue;
      }
      const parsed = await parseFile(file, CampaignSettings);
      if (parsed.ok) settings = parsed.value;
      else problems.push(...parsed.problems);
      continue;
    }
    const parsed = await parseFile(file, Campaign);
    if (parsed.ok) {
      campaigns.push(parsed.value);
      sources.push({ campaignId: parsed.value.id, file: name, yaml: parsed.text });
    } else problems.push(...parsed.problems);
  }
  const ids = new Map<string, number>();
  for (const c of campaigns) ids.set(c.id, (ids.get(c.id) ?? 0) + 1);
  for (const [id, count] of ids) if (count > 1) problems.push(`campaign id "${id}" is used by ${count} files`);
  const consentPath = consentFile ?? join(dir, CONSENT_FILE);
  const consentParsed = await loadConsent(consentPath);
  const consent = consentParsed.ok ? consentParsed.value : ConsentSettings.parse({});
  if (!consentParsed.ok) problems.push(...consentParsed.problems);
  else {
    const topics = consent.topics.map((t) => t.id);
    for (const c of campaigns) {
      if (c.topic !== undefined && !topics.includes(c.topic)) {
        problems.push(`campaign ${c.id}: topic: "${c.topic}" is not a topic of ${consentPath} (topics: ${topics.join(', ') || 'none'})`);
      }
    }
  }
  if (settings.sunset !== undefined) {
    const named = campaigns.find((c) => c.id === settings.sunset?.campaign);
    if (named === undefined) problems.push(`${join(dir, SETTINGS_FILE)}: sunset.campaign: no campaign "${settings.sunset.campaign}" in this folder (the re-permission mail sent before marketing stops)`);
    else if (!('engagement' in named.trigger)) problems.push(`${join(dir, SETTINGS_FILE)}: sunset.campaign: campaign "${named.id}" needs trigger: { engagement: inactive }`);
  }
  if (!isZone(settings.storeTimeZone)) problems.push(`${join(dir, SETTINGS_FILE)}: storeTimeZone: "${settings.storeTimeZone}" is not an IANA time zone (e.g. Europe/Berlin)`);
  if (problems.length > 0) throw new CampaignFileError(`invalid campaign files:\n  ${problems.join('\n  ')}`);
  return { campaigns, settings, sources, consent };
}

function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
