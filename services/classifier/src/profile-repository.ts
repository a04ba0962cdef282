import { asc, eq } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { profiles, stageHistory } from './db/schema.ts';
import { Profile } from './domain/profile.ts';
import { orderFigures } from './domain/stage-rules.ts';

export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
type Db = Database | Tx;

/** Loads a profile, locking its row for the rest of the transaction. */
export async function loadProfileForUpdate(tx: Tx, customerId: string): Promise<Profile | null> {
  const rows = await tx.select({ data: profiles.data }).from(profiles).where(eq(profiles.customerId, customerId)).for('update');
  const row = rows[0];
  return row === undefined ? null : Profile.parse(row.data);
}

export async function saveProfile(tx: Tx, profile: Profile): Promise<void> {
  const values = {
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
    updatedAt: new Date().toISOString(),
  };
  await tx.insert(profiles).values(values).onConflictDoUpdate({ target: profiles.customerId, set: values });
}

export async function readCustomer(db: Db, customerId: string) {
  const [row] = await db
    .select({
      data: profiles.data,
      rfm: { recency: profiles.rfmRecency, frequency: profiles.rfmFrequency, monetary: profiles.rfmMonetary, segment: profiles.rfmSegment, at: profiles.rfmAt },
    })
    .from(profiles)
    .where(eq(profiles.customerId, customerId));
  if (row === undefined) return null;
  const profile = Profile.parse(row.data);
  const { rfm } = row;
  const history = await db
    .select({ from: stageHistory.fromStage, to: stageHistory.toStage, reason: stageHistory.reason, eventId: stageHistory.eventId, occurredAt: stageHistory.occurredAt })
    .from(stageHistory)
    .where(eq(stageHistory.customerId, customerId))
    .orderBy(asc(stageHistory.id));
  return { profile: { ...profile, orderCount: profile.orders.length, ...orderFigures(profile) }, rfm: rfm.segment === null ? null : rfm, history };
}
