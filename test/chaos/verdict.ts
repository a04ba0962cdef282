/**
 * What the chaos run checks once the pipeline has drained: every order has exactly one thank-you
 * at the (fake) provider. A `doubtful` send (the provider call started and its answer was lost)
 * is the only excuse for a missing mail, and never for a second one. Pure, so the rules are
 * tested on their own (verdict.test.ts).
 */

export interface OrderSent {
  orderId: string;
  /** The thank-you's dedupe key: `post-purchase-thank-you:<customer>:order-<order id>`. */
  dedupeKey: string;
  /** When the client first posted the order (epoch ms). */
  firstPostedAt: number;
}

export interface MailReceived {
  /** The `dedupeKey` custom arg of the mail; undefined when the mail carried none. */
  dedupeKey: string | undefined;
  /** When the provider accepted it (epoch ms). */
  receivedAt: number;
}

export interface Verdict {
  orders: number;
  /** Mails the provider accepted, all of them. */
  mails: number;
  /** Orders with no mail and no excuse. */
  missing: string[];
  /** Orders with no mail whose send is `doubtful`. */
  excused: string[];
  /** Orders with more than one mail, and how many each got. */
  doubled: { orderId: string; mails: number }[];
  /** Sends of the run's orders that ended `doubtful`, with or without a mail. */
  doubtful: number;
  /** Mails that belong to no order of the run. */
  stray: number;
  /** From the first post of an order to the provider's accepting its first mail. */
  latencyMs: { p50: number; p99: number; max: number; count: number };
  /** No doubled, unexcused missing or stray mail. */
  ok: boolean;
}

/** The value below which `p` percent of the sorted values lie (nearest rank); NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function mailsByKey(mails: readonly MailReceived[]): Map<string | undefined, number[]> {
  const byKey = new Map<string | undefined, number[]>();
  for (const mail of mails) byKey.set(mail.dedupeKey, [...(byKey.get(mail.dedupeKey) ?? []), mail.receivedAt]);
  return byKey;
}

/**
 * Orders the pipeline has not finished with: no mail yet, and no send that ended without one
 * (`doubtful`, `failed`, `suppressed`). The run waits until this is empty, or its deadline.
 */
export function unfinishedOrders(orders: readonly OrderSent[], mails: readonly MailReceived[], sendStatus: ReadonlyMap<string, string>): OrderSent[] {
  const received = new Set(mails.map((m) => m.dedupeKey));
  const finalWithoutMail = new Set(['doubtful', 'failed', 'suppressed']);
  return orders.filter((o) => !received.has(o.dedupeKey) && !finalWithoutMail.has(sendStatus.get(o.dedupeKey) ?? ''));
}

export function judge(orders: readonly OrderSent[], mails: readonly MailReceived[], sendStatus: ReadonlyMap<string, string>): Verdict {
  const byKey = mailsByKey(mails);
  const missing: string[] = [];
  const excused: string[] = [];
  const doubled: { orderId: string; mails: number }[] = [];
  const latencies: number[] = [];
  let doubtful = 0;
  const known = new Set<string>();
  for (const order of orders) {
    known.add(order.dedupeKey);
    const status = sendStatus.get(order.dedupeKey);
    if (status === 'doubtful') doubtful += 1;
    const received = byKey.get(order.dedupeKey) ?? [];
    if (received.length === 0) {
      (status === 'doubtful' ? excused : missing).push(order.orderId);
      continue;
    }
    if (received.length > 1) doubled.push({ orderId: order.orderId, mails: received.length });
    latencies.push(Math.min(...received) - order.firstPostedAt);
  }
  const stray = mails.filter((m) => m.dedupeKey === undefined || !known.has(m.dedupeKey)).length;
  latencies.sort((a, b) => a - b);
  return {
    orders: orders.length,
    mails: mails.length,
    missing,
    excused,
    doubled,
    doubtful,
    stray,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN, count: latencies.length },
    ok: missing.length === 0 && doubled.length === 0 && stray === 0,
  };
}
