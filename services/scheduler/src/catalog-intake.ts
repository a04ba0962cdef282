import { and, inArray, max } from 'drizzle-orm';
import type { CurrencyRates, LifecycleEvent } from '@lifecycle/contracts';
import type { Transaction } from '@lifecycle/kit';
import { interestedCustomers, recordIntake, reorderIntervalsAsOf, intakeOf, type CatalogIntake, type CatalogSettings, type RecordedChange } from './db/catalog-repository.ts';
import { contactFromRow } from './db/contacts-repository.ts';
import { contacts as contactsTable, jobs as jobsTable } from './db/schema.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import { catalogTrigger, planCatalogChange, planReplenishment, type OrderedProduct } from './domain/catalog-planning.ts';
import { productFacts } from './domain/catalog.ts';
import type { StoredContact } from './domain/contact-state.ts';
import type { PlannedJob } from './domain/planning.ts';

const DAY = 86_400_000;

export interface CatalogPlanning {
  campaigns: readonly Campaign[];
  settings: CampaignSettings;
  rates?: CurrencyRates | undefined;
  catalog: CatalogSettings;
}

/** The events of a batch as the catalog reads them (every tracked event, history included: it is what the catalog learns from). */
export function catalogIntake(events: readonly LifecycleEvent[]): CatalogIntake {
  const intake: CatalogIntake = { facts: [], interests: [], lines: [] };
  for (const e of events) {
    const { call } = e.payload;
    if (call.type !== 'track') continue;
    const currency = call.normalized?.money?.currency ?? (typeof call.properties['currency'] === 'string' ? call.properties['currency'].toUpperCase() : undefined);
    intakeOf({ id: e.id, customerId: e.customerId, name: call.event, properties: call.properties, currency, at: new Date(e.occurredAt) }, intake);
  }
  return intake;
}

/** Contacts of customers outside the batch (read, not locked: planning reads only their zone and currency). */
async function readContacts(tx: Transaction, ids: readonly string[]): Promise<Map<string, StoredContact>> {
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select()
    .from(contactsTable)
    .where(inArray(contactsTable.customerId, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.customerId, contactFromRow(r)]));
}

/** Jobs for back-in-stock and price-drop campaigns, for the customers interested in each changed product. */
export async function planCatalogChanges(tx: Transaction, opts: CatalogPlanning, changes: readonly RecordedChange[], known: ReadonlyMap<string, StoredContact> = new Map()): Promise<PlannedJob[]> {
  const campaigns = opts.campaigns.filter((c) => catalogTrigger(c, 'back_in_stock') !== null || catalogTrigger(c, 'price_drop') !== null);
  if (campaigns.length === 0 || changes.length === 0) return [];
  const planned: PlannedJob[] = [];
  for (const campaign of campaigns) {
    const t = campaign.trigger;
    if (!('catalog' in t) || t.catalog === 'replenishment') continue;
    const relevant = changes.filter((c) => c.change.kind === t.catalog);
    if (relevant.length === 0) continue;
    const earliest = Math.min(...relevant.map((c) => c.at.getTime()));
    const audience = await interestedCustomers(
      tx,
      relevant.map((c) => c.product.productId),
      new Date(earliest - t.lookbackDays * DAY),
    );
    const contacts = new Map(known);
    for (const [id, c] of await readContacts(
      tx,
      audience.map((a) => a.customerId).filter((id) => !known.has(id)),
    ))
      contacts.set(id, c);
    for (const seen of relevant) {
      for (const { customerId } of audience.filter((a) => a.productId === seen.product.productId)) {
        const contact = contacts.get(customerId);
        if (contact === undefined) continue;
        const job = planCatalogChange(campaign, { id: seen.sourceId, at: seen.at, product: seen.product, change: seen.change }, contact, opts.settings, opts.rates);
        if (job !== null) planned.push(job);
      }
    }
  }
  return withinReentry(tx, campaigns, planned);
}

/**
 * A change campaign's `reentry` (`once`, `{ every: P14D }`) counts per customer, whatever the
 * product: a store whose products keep selling out and coming back mails each customer at most
 * that often. The jobs of one batch count too, earliest first.
 */
async function withinReentry(tx: Transaction, campaigns: readonly Campaign[], planned: PlannedJob[]): Promise<PlannedJob[]> {
  const limited = new Map(campaigns.filter((c) => c.reentry === 'once' || typeof c.reentry === 'object').map((c) => [c.id, c.reentry]));
  const subject = planned.filter((j) => limited.has(j.campaignId));
  if (subject.length === 0) return planned;
  const rows = await tx
    .select({ customerId: jobsTable.customerId, campaignId: jobsTable.campaignId, last: max(jobsTable.triggerAt) })
    .from(jobsTable)
    .where(and(inArray(jobsTable.customerId, [...new Set(subject.map((j) => j.customerId))]), inArray(jobsTable.campaignId, [...limited.keys()])))
    .groupBy(jobsTable.customerId, jobsTable.campaignId);
  const last = new Map<string, Date>(rows.flatMap((r) => (r.last === null ? [] : [[`${r.customerId}\n${r.campaignId}`, r.last] as const])));
  const kept: PlannedJob[] = [];
  for (const job of [...planned].sort((a, b) => a.triggerAt.getTime() - b.triggerAt.getTime() || a.dedupeKey.localeCompare(b.dedupeKey))) {
    const reentry = limited.get(job.campaignId);
    const key = `${job.customerId}\n${job.campaignId}`;
    const before = last.get(key);
    if (reentry !== undefined && before !== undefined && (reentry === 'once' || (typeof reentry === 'object' && job.triggerAt.getTime() - before.getTime() < reentry.every))) continue;
    if (reentry !== undefined) last.set(key, job.triggerAt);
    kept.push(job);
  }
  return kept;
}

/** Replenishment jobs for the batch's (non-historical) orders, from the intervals learned up to each order. */
async function planReplenishments(tx: Transaction, opts: CatalogPlanning, orders: readonly LifecycleEvent[], contacts: ReadonlyMap<string, StoredContact>): Promise<PlannedJob[]> {
  const campaigns = opts.campaigns.filter((c) => catalogTrigger(c, 'replenishment') !== null);
  if (campaigns.length === 0 || orders.length === 0) return [];
  const parsed = orders.flatMap((e) => {
    const { call } = e.payload;
    if (call.type !== 'track') return [];
    const props = call.properties;
    const currency = call.normalized?.money?.currency ?? (typeof props['currency'] === 'string' ? props['currency'].toUpperCase() : undefined);
    const lines: OrderedProduct[] = (Array.isArray(props['products']) ? props['products'] : []).flatMap((raw: unknown) => {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [];
      const facts = productFacts(Object.fromEntries(Object.entries(raw)), currency);
      if (facts === null) return [];
      const price = Reflect.get(raw, 'price');
      const product = Object.fromEntries(
        Object.entries({ name: facts.name ?? facts.sku ?? facts.productId, productId: facts.productId, sku: facts.sku, category: facts.category, url: facts.url, imageUrl: facts.imageUrl, price: typeof price === 'number' ? price : undefined }).filter(([, v]) => v !== undefined),
      );
      return [{ productId: facts.productId, product: { name: String(product['name']), ...product } }];
    });
    const orderId = typeof props['order_id'] === 'string' || typeof props['order_id'] === 'number' ? String(props['order_id']) : e.id;
    return [{ event: e, orderId, currency, lines }];
  });
  const intervals = await reorderIntervalsAsOf(
    tx,
    parsed.map((p) => ({ key: p.event.id, productIds: p.lines.map((l) => l.productId), at: new Date(p.event.occurredAt) })),
    opts.catalog.minReorderSamples,
  );
  if (intervals.size === 0) return [];
  return parsed.flatMap(({ event, orderId, currency, lines }) => {
    const contact = contacts.get(event.customerId);
    const known = intervals.get(event.id);
    if (contact === undefined || known === undefined) return [];
    return campaigns.flatMap((campaign) => planReplenishment(campaign, { eventId: event.id, orderId, at: new Date(event.occurredAt), currency, lines }, contact, opts.settings, known));
  });
}

/**
 * The catalog's part of a batch of lifecycle events: products, prices, interests, order lines and
 * co-purchases recorded set-based, then the catalog campaigns' jobs (replenishment for new
 * orders, back in stock and price drops for interested customers).
 */
export async function applyCatalog(tx: Transaction, opts: CatalogPlanning, events: readonly { event: LifecycleEvent; historical: boolean }[], contacts: ReadonlyMap<string, StoredContact>, now: Date): Promise<PlannedJob[]> {
  const intake = catalogIntake(events.map((e) => e.event));
  if (intake.facts.length === 0 && intake.interests.length === 0 && intake.lines.length === 0) return [];
  const changes = await recordIntake(tx, intake, opts.catalog, now);
  const live = new Set(events.filter((e) => !e.historical).map((e) => e.event.id));
  const orders = events.filter((e) => !e.historical && e.event.payload.call.type === 'track' && e.event.payload.call.event === 'Order Completed').map((e) => e.event);
  return [...(await planReplenishments(tx, opts, orders, contacts)), ...(await planCatalogChanges(tx, opts, changes.filter((c) => live.has(c.sourceId)), contacts))];
}
