import { asc, eq } from 'drizzle-orm';
import { Stage } from '@lifecycle/contracts';
import type { Database } from '@lifecycle/kit';
import { profiles, stageHistory } from './db/schema.ts';
import type { Profile } from './domain/profile.ts';

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
type Db = Database | Tx;

const toIso = (value: string): string => new Date(value).toISOString();
const toIsoOrNull = (value: string | null): string | null => (value === null ? null : toIso(value));

/** Loads a profile, locking its row for the rest of the transaction. */
export async function loadProfileForUpdate(tx: Tx, customerId: string): Promise<Profile | null> {
  const rows = await tx.select().from(profiles).where(eq(profiles.customerId, customerId)).for('update');
  const row = rows[0];
  if (row === undefined) return null;
  return {
    customerId: row.customerId,
    stage: Stage.nullable().parse(row.stage),
    email: row.email,
    firstName: row.firstName,
    firstSeenAt: toIso(row.firstSeenAt),
    lastEventAt: toIso(row.lastEventAt),
    intentSignals: row.intentSignals,
    orderCount: row.orderCount,
    firstOrderAt: toIsoOrNull(row.firstOrderAt),
    lastOrderAt: toIsoOrNull(row.lastOrderAt),
  };
}

export async function saveProfile(tx: Tx, profile: Profile): Promise<void> {
  const values = { ...profile, updatedAt: new Date().toISOString() };
  await tx.insert(profiles).values(values).onConflictDoUpdate({ target: profiles.customerId, set: values });
}

export async function readCustomer(db: Db, customerId: string) {
  const [profile] = await db.select().from(profiles).where(eq(profiles.customerId, customerId));
  if (profile === undefined) return null;
  const history = await db
    .select({ from: stageHistory.fromStage, to: stageHistory.toStage, reason: stageHistory.reason, eventId: stageHistory.eventId, occurredAt: stageHistory.occurredAt })
    .from(stageHistory)
    .where(eq(stageHistory.customerId, customerId))
    .orderBy(asc(stageHistory.id));
  return { profile, history };
}
