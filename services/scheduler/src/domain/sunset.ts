import type { Campaign, CampaignSettings } from './campaign.ts';
import { dueTime, type ContactState, type PlannedJob } from './planning.ts';

/**
 * How inactive customers are found. Rather than sweep every contact for "no open or click for
 * `after`" (a scan that a simulated clock's walk would have to repeat at every instant), each
 * customer has at most one pending re-permission job, due when they would become inactive: planned
 * at their first marketing send while they have never engaged (anchor: that send), and moved to
 * the latest open or click plus `after` whenever one arrives (anchor: the engagement). It then
 * fires like any job, at its due instant, on a running or a walked clock; an open before it only
 * moves it later. Its key names the anchor of the spell, so one spell plans it once.
 */
export function rePermissionCampaign(campaigns: readonly Campaign[], settings: CampaignSettings): Campaign | undefined {
  const name = settings.sunset?.campaign;
  const campaign = name === undefined ? undefined : campaigns.find((c) => c.id === name);
  return campaign?.enabled === true ? campaign : undefined;
}

/** The re-permission job for a customer inactive from `anchor + after`; `spell` names the anchor (`never-engaged`, `engaged-<instant>`). */
export function planRePermission(campaign: Campaign, settings: CampaignSettings, contact: ContactState, anchor: Date, spell: string): PlannedJob | null {
  if (settings.sunset === undefined) return null;
  const inactiveFrom = new Date(anchor.getTime() + settings.sunset.after);
  return {
    dedupeKey: `${campaign.id}:${contact.customerId}:${spell}`,
    campaignId: campaign.id,
    customerId: contact.customerId,
    triggerEventId: `inactive:${contact.customerId}:${inactiveFrom.toISOString()}`,
    triggerAt: inactiveFrom,
    triggerProps: {},
    dueAt: dueTime(campaign, settings, contact, inactiveFrom),
    category: campaign.category,
    variant: null,
    // The template reads nothing of the trigger: messaging adds the preference and unsubscribe links.
    triggerData: {},
  };
}

/** When marketing stops for a customer sent the re-permission mail at `sentAt`, unless they open or click first. */
export function sunsetAfterRePermission(settings: CampaignSettings, sentAt: Date): Date | null {
  return settings.sunset === undefined ? null : new Date(sentAt.getTime() + settings.sunset.grace);
}
