import { and, eq, inArray, sql } from 'drizzle-orm';
import { ConsentState, Stage, TemplateOrder } from '@lifecycle/contracts';
import type { Database } from '@lifecycle/kit';
import { emptyContact, type StoredContact } from '../domain/contact-state.ts';
import { contacts, customerEvents } from './schema.ts';

export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];
type ContactRow = typeof contacts.$inferSelect;

export function contactFromRow(row: ContactRow): StoredContact {
  const stage = Stage.safeParse(row.stage);
  const lastOrder = TemplateOrder.safeParse(row.lastOrder);
  return {
    customerId: row.customerId,
    email: row.email,
    firstName: row.firstName,
    name: row.name,
    locale: row.locale,
    timeZone: row.timeZone,
    stage: stage.success ? stage.data : null,
    unsubscribed: row.unsubscribed,
    birthday: row.birthday,
    firstOrderDate: row.firstOrderDate,
    signupDate: row.signupDate,
    lifetimeSpend: row.lifetimeSpend,
    currency: row.currency,
    lastOrder: lastOrder.success ? lastOrder.data : null,
    asOf: row.asOf,
    subscriptionAsOf: row.subscriptionAsOf,
    consentState: ConsentState.safeParse(row.consentState).data ?? null,
    consentSequence: row.consentSequence,
    traitsAsOf: row.traitsAsOf,
  };
}

function rowFromContact(c: StoredContact): ContactRow {
  return { ...c, stage: c.stage, lastOrder: c.lastOrder };
}

/**
 * The customer's contact, locked for this transaction (created when new). The lock serializes
 * everything done for one customer: planning, exits and firing never interleave.
 */
export async function lockContact(tx: Tx, customerId: string, asOf: Date): Promise<StoredContact> {
  await tx.insert(contacts).values({ customerId, asOf }).onConflictDoNothing();
  const [row] = await tx.select().from(contacts).where(eq(contacts.customerId, customerId)).for('update');
  return row === undefined ? emptyContact(customerId, asOf) : contactFromRow(row);
}

export async function saveContact(tx: Tx, contact: StoredContact): Promise<void> {
  const { customerId, ...rest } = rowFromContact(contact);
  await tx.update(contacts).set(rest).where(eq(contacts.customerId, customerId));
}

/** Remembers the latest time the customer did an event. */
export async function recordEventTime(tx: Tx, customerId: string, event: string, at: Date): Promise<void> {
  await tx
    .insert(customerEvents)
    .values({ customerId, event, lastAt: at })
    .onConflictDoUpdate({ target: [customerEvents.customerId, customerEvents.event], set: { lastAt: sql`greatest(${customerEvents.lastAt}, excluded.last_at)` } });
}

/** Latest event times per customer, for the events conditions look at. */
export async function eventTimes(tx: Tx, customerIds: string[], events: string[]): Promise<Map<string, Map<string, Date>>> {
  const out = new Map<string, Map<string, Date>>();
  if (customerIds.length === 0 || events.length === 0) return out;
  const rows = await tx
    .select()
    .from(customerEvents)
    .where(and(inArray(customerEvents.customerId, customerIds), inArray(customerEvents.event, events)));
  for (const r of rows) {
    const m = out.get(r.customerId) ?? new Map<string, Date>();
    m.set(r.event, r.lastAt);
    out.set(r.customerId, m);
  }
  return out;
}
