import { asc, eq, sql } from 'drizzle-orm';
import type { Database, Transaction } from '@lifecycle/kit';
import { profiles, stageHistory } from './db/schema.ts';
import { Profile } from './domain/profile.ts';
import { orderFigures } from './domain/stage-rules.ts';

type Db = Database | Transaction;

/** Loads the customers' profiles, locking their rows for the rest of the transaction. */
export async function loadProfilesForUpdate(tx: Transaction, customerIds: string[]): Promise<Map<string, Profile>> {
  if (customerIds.length === 0) return new Map();
  // One array parameter rather than a list of them: the statement costs the same to build for any batch.
  const rows = await tx
    .select({ data: profiles.data })
    .from(profiles)
    .where(sql`${profiles.customerId} = ANY(${sql.param(customerIds)}::text[])`)
    .orderBy(asc(profiles.customerId))
    .for('update');
  return new Map(rows.map((row) => Profile.parse(row.data)).map((p) => [p.customerId, p]));
}

const column = (name: string) => sql.raw(`"${name}" = excluded."${name}"`);
const updated = ['stage', 'email', 'first_name', 'first_seen_at', 'last_event_at', 'intent_signals', 'order_count', 'first_order_at', 'last_order_at', 'next_check_at', 'data', 'updated_at'];

/**
 * Writes profiles, one statement for all of them. The profiles travel as one JSON array and the
 * query columns are read from it in the database (the same fields `Profile` names), so building
 * the statement costs one `JSON.stringify` however many rows there are.
 */
export async function saveProfiles(tx: Transaction, list: Profile[]): Promise<void> {
  if (list.length === 0) return;
  const updatedAt = new Date().toISOString();
  await tx.execute(sql`
    INSERT INTO ${profiles} (customer_id, stage, email, first_name, first_seen_at, last_event_at, intent_signals, order_count, first_order_at, last_order_at, next_check_at, data, updated_at)
    SELECT p->>'customerId', p->>'stage', p->>'email', p->>'firstName', (p->>'firstSeenAt')::timestamptz, (p->>'lastEventAt')::timestamptz,
      (p->>'intentSignals')::int, jsonb_array_length(p->'orders'), (p->'orders'->0->>'at')::timestamptz, (p->'orders'-> -1->>'at')::timestamptz,
      (p->>'nextCheckAt')::timestamptz, p, ${updatedAt}::timestamptz
    FROM jsonb_array_elements(${JSON.stringify(list)}::jsonb) AS p
    ON CONFLICT (customer_id) DO UPDATE SET ${sql.join(updated.map(column), sql`, `)}`);
}

export async function readCustomer(db: Db, customerId: string) {
  const [row] = await db
    .select({
      data: profiles.data,
      rfm: { recency: profiles.rfmRecency, frequency: profiles.rfmFrequency, monetary: profiles.rfmMonetary, monetaryCurrency: profiles.rfmCurrency, segment: profiles.rfmSegment, at: profiles.rfmAt },
    })
    .from(profiles)
    .where(eq(profiles.customerId, customerId));
  if (row === undefined) return null;
  const profile = Profile.parse(row.data);
  // Scores computed before monetary was ranked per currency carry no currency: the field is left out.
  const { monetaryCurrency, ...scores } = row.rfm;
  const rfm = monetaryCurrency === null ? scores : { ...scores, monetaryCurrency };
  const history = await db
    .select({ from: stageHistory.fromStage, to: stageHistory.toStage, reason: stageHistory.reason, eventId: stageHistory.eventId, occurredAt: stageHistory.occurredAt })
    .from(stageHistory)
    .where(eq(stageHistory.customerId, customerId))
    .orderBy(asc(stageHistory.id));
  return { profile: { ...profile, orderCount: profile.orders.length, ...orderFigures(profile) }, rfm: rfm.segment === null ? null : rfm, history };
}
