import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { campaignFolderProblems } from '@lifecycle/scheduler/commands';
import { repoRoot } from '../kafka-broker.ts';
import { demoMeasurement, withTopLevelKey, writeDemoCampaigns } from './demo-campaigns.ts';

describe('setting a top-level key in a YAML file', () => {
  it('adds the key at the end, keeping comments and the other keys', () => {
    expect(withTopLevelKey('# store settings\nstoreCurrency: USD\n', 'globalControl', '{ percent: 5 }')).toBe('# store settings\nstoreCurrency: USD\nglobalControl: { percent: 5 }\n');
  });

  it('replaces a key the file has already, flow or block, but not a commented one', () => {
    const text = ['globalControl: { percent: 0 }', '# sunset: { after: P180D, grace: P14D, campaign: re-permission }', 'frequencyCap:', '  max: 3', '  per: P7D', 'staleAfter: P2D', ''].join('\n');
    expect(withTopLevelKey(withTopLevelKey(text, 'globalControl', '{ percent: 5 }'), 'frequencyCap', '{ max: 2, per: P7D }')).toBe(
      ['# sunset: { after: P180D, grace: P14D, campaign: re-permission }', 'staleAfter: P2D', 'globalControl: { percent: 5 }', 'frequencyCap: { max: 2, per: P7D }', ''].join('\n'),
    );
  });
});

describe('the demo’s copy of the campaigns', () => {
  const source = join(repoRoot, 'campaigns');

  it('turns on a 5% control group, a 10% holdout on a few marketing campaigns and sunset, in a copy the scheduler loads', async () => {
    const target = join(mkdtempSync(join(tmpdir(), 'demo-campaigns-')), 'campaigns');
    const written = writeDemoCampaigns(source, target);
    expect(written.holdouts).toEqual(['win-back-at-risk', 'cross-sell', 'cart-abandonment']);
    // The scheduler's own check (campaigns:check) finds nothing wrong with the copy.
    expect(await campaignFolderProblems(target)).toEqual([]);
    const settings = readFileSync(join(target, '_settings.yaml'), 'utf8');
    expect(settings.match(/^globalControl:.*$/gm)).toEqual(['globalControl: { percent: 5 }']);
    for (const id of written.holdouts) expect(readFileSync(join(target, `${id}.yaml`), 'utf8').match(/^holdout:.*$/gm), id).toEqual(['holdout: { percent: 10 }']);
    // The other campaigns hold no one out.
    expect(readdirSync(target).filter((f) => f.endsWith('.yaml') && /^holdout:/m.test(readFileSync(join(target, f), 'utf8'))).sort()).toEqual(written.holdouts.map((id) => `${id}.yaml`).sort());
    // Sunset names the re-permission campaign: on when the folder has it.
    const hasRePermission = existsSync(join(source, 're-permission.yaml'));
    expect(written.sunset).toBe(hasRePermission);
    expect(settings.match(/^sunset:.*$/gm)).toEqual(hasRePermission ? ['sunset: { after: P120D, grace: P14D, campaign: re-permission }'] : null);
    // The stack reads the copy: campaigns, and the coupon and consent files beside them.
    expect(written.env).toMatchObject({ CAMPAIGNS_DIR: target, COUPONS_FILE: join(target, '_coupons.yaml') });
    expect(written.env['CONSENT_FILE']).toBe(existsSync(join(source, '_consent.yaml')) ? join(target, '_consent.yaml') : undefined);
    // The repository's own files are left as they were.
    expect(readFileSync(join(source, 'cross-sell.yaml'), 'utf8')).not.toMatch(/^holdout:/m);
  });

  it('writes the copy afresh at each start, and gives no sunset to a folder without its re-permission campaign', () => {
    const root = mkdtempSync(join(tmpdir(), 'demo-campaigns-older-'));
    const older = join(root, 'campaigns');
    mkdirSync(older);
    writeFileSync(join(older, '_settings.yaml'), 'storeCurrency: USD\n');
    writeFileSync(join(older, 'cross-sell.yaml'), 'id: cross-sell\n');
    const target = join(root, 'copy');
    writeDemoCampaigns(older, target);
    writeFileSync(join(target, 'stray.yaml'), 'id: stray\n');
    const written = writeDemoCampaigns(older, target, { ...demoMeasurement, holdoutCampaigns: ['cross-sell', 'not-there'] });
    expect(existsSync(join(target, 'stray.yaml'))).toBe(false);
    expect(written).toMatchObject({ holdouts: ['cross-sell'], sunset: false, env: { CAMPAIGNS_DIR: target } });
    expect(readFileSync(join(target, '_settings.yaml'), 'utf8')).not.toContain('sunset:');
    expect(readFileSync(join(target, '_settings.yaml'), 'utf8')).toContain('globalControl: { percent: 5 }');
    expect(() => writeDemoCampaigns(join(root, 'nothing'), target)).toThrow(/no campaigns folder/);
  });
});
