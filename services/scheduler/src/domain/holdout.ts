import { createHash } from 'node:crypto';
import type { Campaign, CampaignSettings } from './campaign.ts';

/** Which control group a held-out customer is in: the whole programme's, or one campaign's. */
export type HoldoutGroup = 'global_control' | 'holdout';

/**
 * A number in [0, 1) from the key: the first 8 hex digits of its SHA-256 over 2^32. The same key
 * gives the same number on every replica and after every restart, so a customer stays in (or out
 * of) a control group for good, and the groups of different keys are independent.
 */
export function bucket(key: string): number {
  return Number.parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16) / 2 ** 32;
}

/** Whether the customer is in the programme's control group (no marketing mail at all). */
export function inGlobalControl(customerId: string, percent: number): boolean {
  return bucket(`global-control:${customerId}`) < percent / 100;
}

/** Whether the customer is in this campaign's holdout. */
export function inCampaignHoldout(campaignId: string, customerId: string, percent: number): boolean {
  return bucket(`holdout:${campaignId}:${customerId}`) < percent / 100;
}

/**
 * The group a marketing message for this customer is held out for, or null when it goes. The
 * re-permission campaign is never held out: it decides whether marketing may go on at all.
 */
export function holdoutGroupFor(campaign: Campaign, settings: CampaignSettings, customerId: string): HoldoutGroup | null {
  if (campaign.category !== 'marketing' || campaign.id === settings.sunset?.campaign) return null;
  if (inGlobalControl(customerId, settings.globalControl.percent)) return 'global_control';
  if (campaign.holdout !== undefined && inCampaignHoldout(campaign.id, customerId, campaign.holdout.percent)) return 'holdout';
  return null;
}
