import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CommandContext } from '@lifecycle/kit/command';
// The marketer commands run the service's own renderer, so a check or preview shows exactly
// what a customer would get.
import { checkCampaignSamples, readCampaignUses } from './campaign-samples.ts';
import { loadConfig } from './config.ts';
import { checkTemplates, formatProblem, readSample, renderSample } from './template-check.ts';
import { createTemplateCatalog } from './template-catalog.ts';

/** The campaign files (`CAMPAIGNS_DIR`, as the scheduler reads it), by default this repository's. */
function campaignsDir(flag: string | undefined, env: CommandContext['env']): string {
  const fromEnv = env.CAMPAIGNS_DIR === '' ? undefined : env.CAMPAIGNS_DIR;
  return resolve(flag ?? fromEnv ?? join(import.meta.dirname, '..', '..', '..', 'campaigns'));
}

/** The templates folder: the flag's, else `TEMPLATES_DIR`. */
export function templatesDir(flag: string | undefined, env: CommandContext['env']): string {
  return resolve(flag ?? loadConfig(env).TEMPLATES_DIR);
}

/**
 * `templates:check [--dir D] [--campaigns D]`: compile and render every template in every locale,
 * and check each campaign's templates against the data that campaign sends; exit 1 on a problem.
 */
export async function templatesCheck(args: string[], { say, env }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' }, campaigns: { type: 'string' } }, strict: true });
  const dir = templatesDir(values.dir, env);
  const report = await checkTemplates(dir);
  for (const { templateId, locales } of report.checked) {
    if (!report.problems.some((p) => p.templateId === templateId)) say(`ok ${templateId} (${locales.join(', ')})`);
  }
  for (const problem of report.problems) process.stdout.write(`${formatProblem(problem)}\n`);
  const campaigns = await readCampaignUses(campaignsDir(values.campaigns, env));
  const campaignProblems = [...campaigns.problems, ...(await checkCampaignSamples(campaigns.campaigns, dir))];
  for (const problem of campaignProblems) process.stdout.write(`${problem}\n`);
  const total = report.problems.length + campaignProblems.length;
  if (total > 0) {
    say(`${total} problem(s) in ${dir}`);
    return 1;
  }
  say(`${report.checked.length} template(s) checked in ${dir}, against the data of their campaigns`);
  return 0;
}

async function renderFor(id: string | undefined, locale: string, dir: string) {
  if (id === undefined) throw new TypeError('name the template, e.g. post-purchase-thank-you');
  const lookup = await createTemplateCatalog({ dir }).get(id);
  if (!lookup.ok) return { ok: false as const, error: lookup.error };
  const sample = await readSample(dir, id);
  if (!sample.ok) return { ok: false as const, error: `${id}: ${sample.error}` };
  const rendered = renderSample(lookup.template, sample.data, locale);
  if (!rendered.ok) return { ok: false as const, error: `${id} [${locale}]: ${rendered.error}` };
  return { ok: true as const, template: lookup.template, sample: sample.data, content: rendered.content };
}

/** `templates:preview <id> [--locale L] [--out FILE]`: the sample rendered to an HTML file. */
export async function templatesPreview(args: string[], { say, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { locale: { type: 'string', default: 'en' }, out: { type: 'string' }, dir: { type: 'string' } }, allowPositionals: true, strict: true });
  const [id] = positionals;
  const result = await renderFor(id, values.locale, templatesDir(values.dir, env));
  if (!result.ok) {
    say(result.error);
    return 1;
  }
  const out = resolve(values.out ?? join(loadConfig(env).OUTBOX_DIR, `preview-${result.template.id}-${values.locale}.html`));
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(out, result.content.html, 'utf8');
  say(`subject: ${result.content.subject}`);
  say(`wrote ${out}; with ./lifecycle start running, http://127.0.0.1:3004/preview/${result.template.id}?locale=${values.locale} reloads on every save`);
  return 0;
}

/** `templates:send-test <id> --to ADDR [--locale L]`: the sample sent through the configured transport. */
export async function templatesSendTest(args: string[], { say, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { to: { type: 'string' }, locale: { type: 'string', default: 'en' }, dir: { type: 'string' } }, allowPositionals: true, strict: true });
  if (values.to === undefined || !/^[^@\s]+@[^@\s]+$/.test(values.to)) throw new TypeError('give the address to send to: --to you@example.com');
  const config = loadConfig(env);
  const result = await renderFor(positionals[0], values.locale, templatesDir(values.dir, env));
  if (!result.ok) {
    say(result.error);
    return 1;
  }
  // Loaded here: the checks and previews need none of the service's Kafka, database or HTTP code.
  const [{ selectTransport }, { createLogger }] = await Promise.all([import('./app.ts'), import('@lifecycle/kit')]);
  const transport = selectTransport(config, createLogger('templates', 'warn'), () => new Date());
  const stamp = Date.now().toString(36);
  const outcome = await transport.send({
    from: { email: result.template.meta.fromEmail, name: result.template.meta.fromName },
    to: { email: values.to },
    subject: `[TEST] ${result.content.subject}`,
    text: result.content.text,
    html: result.content.html,
    categories: [result.template.id, 'test'],
    tags: { messageId: `test-${stamp}`, dedupeKey: `test:${result.template.id}:${stamp}`, campaignId: 'test', customerId: 'test' },
  });
  switch (outcome.kind) {
    case 'accepted':
      say(`sent through ${transport.name}${outcome.providerMessageId === null ? '' : ` (${outcome.providerMessageId})`}`);
      return 0;
    case 'rejected':
    case 'retryable':
    case 'unknown':
      say(`not sent (${outcome.kind}): ${outcome.error}`);
      return 1;
  }
}
