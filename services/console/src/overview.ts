/** Calendar months (UTC) that overlap [from, to): the first starts at `from`, the last ends at `to`. */
export function monthBuckets(from: Date, to: Date): { start: Date; end: Date }[] {
  const buckets: { start: Date; end: Date }[] = [];
  let start = from;
  while (start < to) {
    const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    const end = next < to ? next : to;
    buckets.push({ start, end });
    start = end;
  }
  return buckets;
}

/** The default window: the 12 calendar months (UTC) up to `now`, the last one cut at `now`. */
export function defaultWindow(now: Date): { from: Date; to: Date } {
  return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)), to: now };
}

export const metricDefinitions: Record<string, string> = {
  stages: 'Customers in each lifecycle stage now, as the classifier last placed them.',
  stageFlows: 'Customers who moved from one stage to another within each month.',
  customerRetentionRate: 'Of the customers who had ordered before the month began, the share who ordered again within it.',
  churnRate: 'One minus the retention rate: customers who had ordered before the month and did not order within it.',
  repeatPurchaseRate: 'Of the customers who had ordered by the end of the month, the share with two orders or more.',
  averageOrderValue: 'Revenue of the orders placed within the month divided by their number, per currency.',
  historicCustomerLifetimeValue: 'All revenue up to the end of the month divided by the customers who had ordered by then, per currency.',
  nps: 'Net Promoter Score of the survey answers given within the month: % promoters (9–10) minus % detractors (0–6).',
  messages: 'Emails the provider accepted, per day and campaign.',
};
