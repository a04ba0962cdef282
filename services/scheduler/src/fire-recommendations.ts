import type { CurrencyRates } from '@lifecycle/contracts';
import type { Transaction } from '@lifecycle/kit';
import { bestSellers, coPurchasesOf, interestsOf, loadProducts, loadReorderIntervals, orderedSince, purchasesOf, type CatalogSettings } from './db/catalog-repository.ts';
import type { jobs } from './db/schema.ts';
import type { Campaign, CampaignSettings } from './domain/campaign.ts';
import { catalogTrigger } from './domain/catalog-planning.ts';
import { productIdOf, recommend, type Recommendation } from './domain/catalog.ts';
import type { StoredContact } from './domain/contact-state.ts';
import type { FireDecision } from './domain/fire-decision.ts';

type Job = typeof jobs.$inferSelect;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A product of template data (`productId`, `sku`) as a catalog id. */
function idOf(p: unknown): string | null {
  return isRecord(p) ? productIdOf({ product_id: p['productId'], sku: p['sku'] }) : null;
}

/** The trigger's products (the order's, the cart's, the viewed one) and the currency they are in. */
function triggerProducts(job: Job): { ids: string[]; currency: string | undefined } {
  const data = job.triggerData;
  for (const key of ['order', 'cart', 'lastOrder'] as const) {
    const part = data[key];
    if (isRecord(part) && Array.isArray(part['products'])) {
      const currency = typeof part['currency'] === 'string' ? part['currency'] : undefined;
      return { ids: part['products'].flatMap((p: unknown) => idOf(p) ?? []), currency };
    }
  }
  const product = data['product'];
  if (isRecord(product)) return { ids: idOf(product) === null ? [] : [idOf(product) ?? ''], currency: typeof product['currency'] === 'string' ? product['currency'] : undefined };
  return { ids: [], currency: undefined };
}

/** Campaigns whose recommendations are learned from the catalog (no `byCategory`). */
export function learnsRecommendations(campaign: Campaign | undefined): campaign is Campaign & { recommendations: { limit: number } } {
  return campaign?.recommendations !== undefined && campaign.recommendations.byCategory === undefined;
}

/**
 * Recommendations for the batch's jobs whose campaigns learn them, read with a few statements for
 * all their customers: seeded with the trigger's products, else (a stage or date trigger) the
 * customer's favourites and purchases; priced in the trigger's currency, else the customer's.
 */
export async function recommendationsForJobs(
  tx: Transaction,
  jobsToFire: readonly Job[],
  campaigns: ReadonlyMap<string, Campaign>,
  known: ReadonlyMap<string, StoredContact>,
  opts: { settings: CampaignSettings; rates: CurrencyRates | undefined; catalog: CatalogSettings; now: Date },
): Promise<Map<string, Recommendation[]>> {
  const out = new Map<string, Recommendation[]>();
  const wanted = jobsToFire.filter((j) => learnsRecommendations(campaigns.get(j.campaignId)));
  if (wanted.length === 0) return out;
  const customers = [...new Set(wanted.map((j) => j.customerId))];
  // One after another: a transaction's client runs one query at a time.
  const bought = await purchasesOf(tx, customers);
  const favourites = await interestsOf(tx, customers);
  const best = await bestSellers(tx);
  const seedsOf = new Map<string, { ids: string[]; currency: string | undefined }>();
  for (const job of wanted) {
    const fromTrigger = triggerProducts(job);
    const ids = fromTrigger.ids.length > 0 ? fromTrigger.ids : [...(favourites.get(job.customerId) ?? []), ...(bought.get(job.customerId)?.keys() ?? [])];
    seedsOf.set(job.dedupeKey, { ids: [...new Set(ids)], currency: fromTrigger.currency });
  }
  const allSeeds = [...new Set([...seedsOf.values()].flatMap((s) => s.ids))];
  const co = await coPurchasesOf(tx, allSeeds, opts.catalog.minSupport);
  const boughtIds = [...new Set(customers.flatMap((c) => [...(bought.get(c)?.keys() ?? [])]))];
  const products = await loadProducts(tx, [...allSeeds, ...co.map((c) => c.otherId), ...best.overall, ...[...best.byCategory.values()].flat()]);
  const intervals = await loadReorderIntervals(tx, boughtIds, opts.catalog.minReorderSamples);
  const coBySeed = new Map<string, typeof co>();
  for (const c of co) coBySeed.set(c.productId, [...(coBySeed.get(c.productId) ?? []), c]);
  for (const job of wanted) {
    const campaign = campaigns.get(job.campaignId);
    const seeds = seedsOf.get(job.dedupeKey) ?? { ids: [], currency: undefined };
    const contact = known.get(job.customerId);
    out.set(
      job.dedupeKey,
      recommend({
        seeds: seeds.ids,
        bought: bought.get(job.customerId) ?? new Map(),
        coPurchases: seeds.ids.flatMap((s) => coBySeed.get(s) ?? []),
        bestSellers: best.overall,
        categoryBestSellers: best.byCategory,
        products,
        intervals,
        currency: seeds.currency ?? contact?.currency ?? opts.settings.storeCurrency,
        rates: opts.rates,
        limit: campaign?.recommendations?.limit ?? 3,
        minSupport: opts.catalog.minSupport,
        now: opts.now,
      }),
    );
  }
  return out;
}

/** Replenishment jobs whose customer bought the product again since the order: skipped (`condition`). */
export async function reboughtJobs(tx: Transaction, jobsToFire: readonly Job[], campaigns: ReadonlyMap<string, Campaign>): Promise<Set<string>> {
  const checks = jobsToFire.flatMap((j) => {
    const campaign = campaigns.get(j.campaignId);
    const productId = j.triggerProps['product_id'];
    if (campaign === undefined || catalogTrigger(campaign, 'replenishment') === null || typeof productId !== 'string') return [];
    return [{ key: j.dedupeKey, customerId: j.customerId, productId, since: j.triggerAt }];
  });
  const found = await orderedSince(tx, checks);
  return new Set(checks.filter((c) => found.has(`${c.customerId}\n${c.productId}`)).map((c) => c.key));
}

/** A send of a replenishment message turns into a skip when the product was bought again. */
export function rebought(decision: FireDecision, rebought: boolean, job: Job): FireDecision {
  // A held-out job too: held-out customers are those who would otherwise have been mailed.
  if ((decision.kind !== 'send' && decision.kind !== 'hold_out') || !rebought) return decision;
  return { kind: 'skip', reason: 'condition', detail: `${String(job.triggerProps['product_id'])} ordered again since` };
}
