import { asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database, Transaction } from '@lifecycle/kit';
import { profiles, stageHistory } from './db/schema.ts';
import { Profile } from './domain/profile.ts';
import { orderFigures } from './domain/stage-rules.ts';

type Db = Database | Transaction;

/** Loads the customers' profiles, locking their rows for the rest of the transaction. */
export async function loadProfilesForUpdate(tx: Transaction, customerIds: string[]): Promise<Map<string, Profile>> {
  if (customerIds.length === 0) return new Map();
  const rows = await tx
    .select({ data: profiles.data })
    .from(profiles)
    .where(inArray(profiles.customerId, customerIds))
    .orderBy(asc(profiles.customerId))
    .for('update');
  return new Map(rows.map((row) => Profile.parse(row.data)).map((p) => [p.customerId, p]));
}

const excluded = (column: string) => sql.raw(`excluded.${column}`);

/** Writes profiles, one statement for all of them. */
export async function saveProfiles(tx: Transaction, list: Profile[]): Promise<void> {
  if (list.length === 0) return;
  const updatedAt = new Date().toISOString();
  const values = list.map((profile) => ({
    customerId: profile.customerId,
    stage: profile.stage,
    email: profile.email,
    firstName: profile.firstName,
    firstSeenAt: profile.firstSeenAt,
    lastEventAt: profile.lastEventAt,
    intentSignals: profile.intentSignals,
    orderCount: profile.orders.length,
    firstOrderAt: profile.orders[0]?.at ?? null,
    lastOrderAt: profile.orders.at(-1)?.at ?? null,
    nextCheckAt: profile.nextCheckAt,
    data: profile,
    updatedAt,
  }));
  await tx
    .insert(profiles)
    .values(values)
    .onConflictDoUpdate({
      target: profiles.customerId,
      set: {
        stage: excluded('stage'),
        email: excluded('email'),
        firstName: excluded('first_name'),
        firstSeenAt: excluded('first_seen_at'),
        lastEventAt: excluded('last_event_at'),
        intentSignals: excluded('intent_signals'),
        orderCount: excluded('order_count'),
        firstOrderAt: excluded('first_order_at'),
        lastOrderAt: excluded('last_order_at'),
        nextCheckAt: excluded('next_check_at'),
        data: excluded('data'),
        updatedAt: excluded('updated_at'),
      },
    });
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
