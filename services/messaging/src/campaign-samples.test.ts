import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCampaignSamples, readCampaignUses } from './campaign-samples.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const campaignsDir = join(repo, 'campaigns');
const templatesDir = join(repo, 'templates');

describe('the shipped campaigns and templates', () => {
  it('are read by the shared contract, and every campaign’s templates use only the data it sends', async () => {
    const { campaigns, problems } = await readCampaignUses(campaignsDir);
    expect(problems).toEqual([]);
    expect(campaigns.map((c) => c.id)).toContain('cross-sell');
    // The sixteen lifecycle campaigns and re-permission (the sunset's, issue 17).
    expect(campaigns).toHaveLength(17);
    expect(await checkCampaignSamples(campaigns, templatesDir)).toEqual([]);
  });
});

describe('campaign files this check cannot read', () => {
  it('are problems, named by file, and point to campaigns:check', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifecycle-campaigns-'));
    try {
      await writeFile(join(dir, 'broken.yaml'), 'id: broken\nname: [unclosed\n');
      await writeFile(join(dir, 'no-template.yaml'), 'id: no-template\ntrigger: { event: Order Completed }\n');
      await writeFile(join(dir, '_settings.yaml'), 'storeTimeZone: UTC\n');
      const { campaigns, problems } = await readCampaignUses(dir);
      expect(campaigns).toEqual([]);
      expect(problems).toEqual([
        `${join(dir, 'broken.yaml')}: not a campaign this check can read; ./lifecycle campaigns:check says what is wrong`,
        `${join(dir, 'no-template.yaml')}: not a campaign this check can read; ./lifecycle campaigns:check says what is wrong`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('include a missing folder', async () => {
    const missing = join(tmpdir(), 'lifecycle-no-such-campaigns');
    expect((await readCampaignUses(missing)).problems).toEqual([expect.stringContaining(`cannot read the campaigns folder ${missing}`)]);
  });
});

describe('templates checked against their campaign’s data', () => {
  it('fail when a sample (the template’s stand-in data) holds a field the campaign never sends', async () => {
    const templates = await mkdtemp(join(tmpdir(), 'lifecycle-templates-'));
    await cp(join(templatesDir, 'cross-sell'), join(templates, 'cross-sell'), { recursive: true });
    const sampleFile = join(templates, 'cross-sell', 'sample.json');
    const sample = JSON.parse(await readFile(sampleFile, 'utf8'));
    sample.order.totl = 12;
    sample.coupon = 'SAVE5';
    await writeFile(sampleFile, JSON.stringify(sample, null, 2));
    const lineOfKey = async (key: string) => (await readFile(sampleFile, 'utf8')).split('\n').findIndex((l) => l.includes(`"${key}"`)) + 1;
    const { campaigns } = await readCampaignUses(campaignsDir);
    const crossSell = campaigns.filter((c) => c.id === 'cross-sell');
    expect(await checkCampaignSamples(crossSell, templates)).toEqual([
      `${sampleFile}:${await lineOfKey('totl')}: order.totl: campaign cross-sell does not provide this, so a template must not use it`,
      `${sampleFile}:${await lineOfKey('coupon')}: coupon: campaign cross-sell does not provide this, so a template must not use it`,
    ]);
  });

  it('fail when a sample’s recommendation has a price without its currency', async () => {
    const templates = await mkdtemp(join(tmpdir(), 'lifecycle-templates-'));
    await cp(join(templatesDir, 'cross-sell'), join(templates, 'cross-sell'), { recursive: true });
    const sampleFile = join(templates, 'cross-sell', 'sample.json');
    const sample = JSON.parse(await readFile(sampleFile, 'utf8'));
    delete sample.recommendations[1].currency;
    await writeFile(sampleFile, JSON.stringify(sample, null, 2));
    const { campaigns } = await readCampaignUses(campaignsDir);
    const problems = await checkCampaignSamples(campaigns.filter((c) => c.id === 'cross-sell'), templates);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${sampleFile}:\\d+: recommendations\\.1\\.currency: a priced recommendation carries its currency`));
  });

  it('fail when a campaign names a template that does not exist', async () => {
    const { campaigns } = await readCampaignUses(campaignsDir);
    const renamed = campaigns.filter((c) => c.id === 'birthday').map((c) => ({ ...c, template: 'birthdy' }));
    expect(await checkCampaignSamples(renamed, templatesDir)).toEqual([`campaign birthday: template "birthdy" does not exist (no folder ${join(templatesDir, 'birthdy')})`]);
  });
});
