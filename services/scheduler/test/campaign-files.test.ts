import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CampaignFileError, loadCampaigns } from '../src/campaign-files.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const campaignsDir = join(repo, 'campaigns');

async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lifecycle-campaigns-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function loadError(dir: string): Promise<string> {
  const error = await loadCampaigns(dir).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(CampaignFileError);
  return error instanceof Error ? error.message : '';
}

describe('the shipped campaign files', () => {
  it('load, with the store settings', async () => {
    const { campaigns, settings } = await loadCampaigns(campaignsDir);
    expect(campaigns.map((c) => c.id).sort()).toEqual([
      'back-in-stock',
      'birthday',
      'browse-abandonment',
      'cart-abandonment',
      'cross-sell',
      'first-order-anniversary',
      'loyalty-milestone',
      'nps-survey',
      'onboarding-tips',
      'post-purchase-thank-you',
      'price-drop',
      're-permission',
      'referral-invitation',
      'replenishment-reminder',
      'review-request',
      'win-back-at-risk',
      'win-back-lapsed',
    ]);
    expect(settings).toMatchObject({ storeTimeZone: 'America/New_York', frequencyCap: { max: 3, per: 7 * 86_400_000 }, globalControl: { percent: 0 } });
    expect(settings.sunset).toBeUndefined();
  });

  it('name a topic of _consent.yaml on every marketing campaign but the re-permission mail, and none on transactional ones', async () => {
    const { campaigns, consent } = await loadCampaigns(campaignsDir);
    expect(consent.topics.map((t) => t.id)).toEqual(['offers', 'product-news', 'reviews-and-surveys', 'anniversaries']);
    for (const c of campaigns) {
      if (c.category === 'transactional' || 'engagement' in c.trigger) expect({ id: c.id, topic: c.topic }).toEqual({ id: c.id, topic: undefined });
      else expect({ id: c.id, topic: consent.topics.some((t) => t.id === c.topic) }).toEqual({ id: c.id, topic: true });
    }
  });
});

describe('topics, holdouts and sunset in campaign files', () => {
  const consentYaml = 'topics:\n  - id: offers\n    label: { en: Offers }\n';
  const offer = (extra: string) => `id: offer\nname: Offer\ntemplate: offer\ncategory: marketing\ntrigger: { event: Order Completed }\n${extra}`;

  it('refuses a topic _consent.yaml does not define, naming the topics it has', async () => {
    const message = await loadError(await folderWith({ '_consent.yaml': consentYaml, 'offer.yaml': offer('topic: coupons\n') }));
    expect(message).toContain('campaign offer: topic: "coupons" is not a topic of');
    expect(message).toContain('(topics: offers)');
  });

  it('refuses a topic on a transactional campaign, and any topic when there is no _consent.yaml', async () => {
    const transactional = 'id: receipt\nname: Receipt\ntemplate: receipt\ncategory: transactional\ntopic: offers\ntrigger: { event: Order Completed }\n';
    expect(await loadError(await folderWith({ '_consent.yaml': consentYaml, 'receipt.yaml': transactional }))).toContain('receipt.yaml:5: topic: only marketing campaigns have a topic');
    expect(await loadError(await folderWith({ 'offer.yaml': offer('topic: offers\n') }))).toContain('(topics: none)');
  });

  it('reads the consent settings from CONSENT_FILE when given, and allows a marketing campaign without a topic', async () => {
    const elsewhere = await folderWith({ 'consent.yaml': consentYaml });
    const set = await loadCampaigns(await folderWith({ 'offer.yaml': offer('topic: offers\nholdout: { percent: 10 }\n'), 'plain.yaml': offer('').replace('id: offer', 'id: plain') }), join(elsewhere, 'consent.yaml'));
    expect(set.campaigns.map((c) => [c.id, c.topic, c.holdout?.percent])).toEqual([
      ['offer', 'offers', 10],
      ['plain', undefined, undefined],
    ]);
  });

  it('refuses a sunset naming a campaign not in the folder, or one without the engagement trigger', async () => {
    const settings = '_settings.yaml';
    const sunset = 'sunset: { after: P180D, grace: P14D, campaign: re-permission }\n';
    expect(await loadError(await folderWith({ [settings]: sunset, 'offer.yaml': offer('') }))).toContain('sunset.campaign: no campaign "re-permission" in this folder');
    expect(await loadError(await folderWith({ [settings]: sunset, 're-permission.yaml': offer('').replace('id: offer', 'id: re-permission') }))).toContain('needs trigger: { engagement: inactive }');
    const ok = await loadCampaigns(await folderWith({ [settings]: `${sunset}globalControl: { percent: 5 }\n`, 're-permission.yaml': 'id: re-permission\nname: Still there?\ntemplate: re-permission\ncategory: marketing\ntrigger: { engagement: inactive }\n' }));
    expect(ok.settings).toMatchObject({ globalControl: { percent: 5 }, sunset: { after: 180 * 86_400_000, grace: 14 * 86_400_000, campaign: 're-permission' } });
  });
});

describe('campaign file mistakes', () => {
  it('are all reported at once, each with file, line and field', async () => {
    const dir = await folderWith({
      'win-back.yaml': 'id: win-back\nname: Win-back\ntemplate: win-back-at-risk\ncategory: marketing\ntrigger:\n  stage: { entered: at_rsk }\ndelay: 7 days\n',
      'bad-window.yaml':
        'id: bad-window\nname: Bad window\ntemplate: birthday\ncategory: marketing\ntrigger:\n  date: birthday\ndelay: { days: 0, at: "9am" }\nsendWindow: { from: "09:00", to: "09:00" }\n',
      '_settings.yaml': 'storeTimeZone: Mars/Olympus\n',
    });
    const message = await loadError(dir);
    expect(message).toContain(`${join(dir, 'win-back.yaml')}:6: trigger.stage.entered:`);
    expect(message).toContain(`${join(dir, 'win-back.yaml')}:7: delay:`);
    expect(message).toContain('"7 days" is not a duration');
    expect(message).toContain(`${join(dir, 'bad-window.yaml')}:7: delay.at: write a local time as HH:MM`);
    expect(message).toContain(`${join(dir, 'bad-window.yaml')}:8: sendWindow: from and to must differ`);
    expect(message).toContain('storeTimeZone: "Mars/Olympus" is not an IANA time zone');
  });

  it('name a duplicate id, a fixed data key the scheduler fills in, and YAML that does not parse', async () => {
    const base = 'name: A\ntemplate: birthday\ncategory: marketing\ntrigger:\n  date: birthday\n';
    const dir = await folderWith({
      'a.yaml': `id: same\n${base}`,
      'b.yaml': `id: same\n${base}`,
      'd.yaml': `id: d\n${base}data:\n  order: { id: 1 }\n`,
      'c.yaml': 'id: c\nname: [unclosed\n',
    });
    const message = await loadError(dir);
    expect(message).toContain('campaign id "same" is used by 2 files');
    expect(message).toContain(`${join(dir, 'd.yaml')}:8: data.order: "order" is filled in by the scheduler`);
    expect(message).toContain(`${join(dir, 'c.yaml')}:`);
    expect(message).toContain('not valid YAML');
  });
});

describe('priced data in a campaign', () => {
  it('fails without the currency it is in, naming file, line and field', async () => {
    const crossSell = [
      'id: cross-sell',
      'name: Cross-sell',
      'template: cross-sell',
      'category: marketing',
      'trigger: { event: Order Completed }',
      'recommendations:',
      '  byCategory:',
      '    default:',
      '      - { name: Tasting Flight, price: 29, currency: USD }',
      '      - { name: Stoneware Mug, price: 18 }',
      '      - { name: Gift Card }',
      '      - { name: Kettle, price: 40, currency: yen }',
      '',
    ].join('\n');
    const offer = 'id: offer\nname: Offer\ntemplate: birthday\ncategory: marketing\ntrigger:\n  date: birthday\ndata:\n  offer: { code: TEN, amount: 10 }\n  gift: { price: 5, currency: EUR }\n';
    const milestone = 'id: vip\nname: VIP\ntemplate: loyalty-milestone\ncategory: marketing\ntrigger:\n  milestone: { lifetimeSpend: 500 }\n';
    const dir = await folderWith({ 'cross-sell.yaml': crossSell, 'offer.yaml': offer, 'vip.yaml': milestone });
    const message = await loadError(dir);
    expect(message).toContain(`${join(dir, 'cross-sell.yaml')}:10: recommendations.byCategory.default.1.currency: a price needs the currency it is in`);
    expect(message).toContain(`${join(dir, 'cross-sell.yaml')}:12: recommendations.byCategory.default.3.currency: an ISO 4217 code`);
    expect(message).not.toContain('default.0');
    expect(message).not.toContain('default.2');
    expect(message).toContain(`${join(dir, 'offer.yaml')}:8: data.offer.amount: an amount needs the currency it is in`);
    expect(message).not.toContain('data.gift');
    expect(message).toContain(`${join(dir, 'vip.yaml')}:6: trigger.milestone.currency: a milestone needs the currency its threshold is in`);
  });
});
