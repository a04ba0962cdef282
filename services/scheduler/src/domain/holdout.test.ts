import { describe, expect, it } from 'vitest';
import { Campaign, CampaignSettings } from './campaign.ts';
import { bucket, holdoutGroupFor, inCampaignHoldout, inGlobalControl } from './holdout.ts';
import { liftOf } from './lift.ts';

const ids = Array.from({ length: 20_000 }, (_, i) => `customer-${i}`);

describe('holdout assignment', () => {
  it('puts near the share asked for in each group, and the same customers every time', () => {
    const held = ids.filter((id) => inCampaignHoldout('win-back', id, 10));
    expect(held.length).toBeGreaterThanOrEqual(1_800);
    expect(held.length).toBeLessThanOrEqual(2_200);
    expect(ids.filter((id) => inCampaignHoldout('win-back', id, 10))).toEqual(held);
    const control = ids.filter((id) => inGlobalControl(id, 10));
    expect(control.length).toBeGreaterThanOrEqual(1_800);
    expect(control.length).toBeLessThanOrEqual(2_200);
    // Another campaign's holdout is drawn independently of this one's.
    const other = new Set(ids.filter((id) => inCampaignHoldout('birthday', id, 10)));
    expect(held.filter((id) => other.has(id)).length).toBeLessThan(400);
  });

  it('follows the documented hash: the first 8 hex digits of SHA-256 over 2^32', () => {
    // sha256("abc") = ba7816bf…
    expect(bucket('abc')).toBeCloseTo(0xba7816bf / 2 ** 32, 12);
    expect(ids.some((id) => inGlobalControl(id, 0))).toBe(false);
    expect(ids.every((id) => inGlobalControl(id, 100))).toBe(true);
  });

  it('holds out marketing only, the global control first, never the re-permission mail', () => {
    const base = { name: 'x', template: 'x', trigger: { event: 'Order Completed' } };
    const marketing = Campaign.parse({ ...base, id: 'offer', category: 'marketing', holdout: { percent: 100 } });
    const rePermission = Campaign.parse({ ...base, id: 're-permission', category: 'marketing', trigger: { engagement: 'inactive' } });
    const transactional = Campaign.parse({ ...base, id: 'thanks', category: 'transactional' });
    const settings = CampaignSettings.parse({ globalControl: { percent: 100 }, sunset: { after: 'P180D', grace: 'P14D', campaign: 're-permission' } });
    expect(holdoutGroupFor(marketing, settings, 'ada')).toBe('global_control');
    expect(holdoutGroupFor(marketing, CampaignSettings.parse({}), 'ada')).toBe('holdout');
    expect(holdoutGroupFor(rePermission, settings, 'ada')).toBeNull();
    expect(holdoutGroupFor(transactional, settings, 'ada')).toBeNull();
  });
});

describe('lift', () => {
  it('gives the known answer for 1,000 mailed with 120 conversions against 1,000 held out with 80', () => {
    const lift = liftOf({ customers: 1_000, converted: 120 }, { customers: 1_000, converted: 80 });
    expect(lift?.absolute).toBeCloseTo(0.04, 6);
    expect(lift?.relative).toBeCloseTo(0.5, 6);
    expect(lift?.ci95[0]).toBeCloseTo(0.0138, 4);
    expect(lift?.ci95[1]).toBeCloseTo(0.0662, 4);
    expect(lift?.significant).toBe(true);
  });

  it('is not significant when the interval spans 0, and null when a group is empty', () => {
    expect(liftOf({ customers: 100, converted: 10 }, { customers: 100, converted: 9 })?.significant).toBe(false);
    expect(liftOf({ customers: 100, converted: 10 }, { customers: 0, converted: 0 })).toBeNull();
    expect(liftOf({ customers: 100, converted: 10 }, { customers: 50, converted: 0 })?.relative).toBeNull();
  });
});
