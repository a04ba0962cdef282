import type { CampaignSettings } from './campaign.ts';

/**
 * Whether one more marketing message fits the customer's frequency cap, given the send times of
 * their marketing messages so far. Rolling window: sends at or before `now - per` no longer count.
 */
export function withinFrequencyCap(cap: CampaignSettings['frequencyCap'], marketingSentAt: readonly Date[], now: Date): boolean {
  if (cap === undefined) return true;
  const since = now.getTime() - cap.per;
  return marketingSentAt.filter((t) => t.getTime() > since).length < cap.max;
}
