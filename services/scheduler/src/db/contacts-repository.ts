import { and, eq, inArray, sql } from 'drizzle-orm';
import { ConsentState, emptyLedger, MarketingFrequency, moneyFromMajor, OrderLedger, Stage, TemplateOrder } from '@lifecycle/contracts';
import type { Transaction } from '@lifecycle/kit';
import { emptyContact, type StoredContact } from '../domain/contact-state.ts';
import { anyOf } from './any-of.ts';
import { contacts, customerEvents } from './schema.ts';

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
    orders: ledgerOf(row),
    currency: row.currency,
    lastOrder: lastOrder.success ? lastOrder.data : null,
    asOf: row.asOf,
    subscriptionAsOf: row.subscriptionAsOf,
    consentState: ConsentState.safeParse(row.consentState).data ?? null,
    consentSequence: row.consentSequence,
    topicsOptedOut: row.topicsOptedOut,
    frequency: MarketingFrequency.safeParse(row.frequency).data ?? 'any',
    lastEngagedAt: row.lastEngagedAt,
    rePermissionSentAt: row.rePermissionSentAt,
    sunsetAt: row.sunsetAt,
    traitsAsOf: row.traitsAsOf,
  };
}

/**
 * The contact's order ledger. A row from before the ledger kept only a spend figure (major units
 * of its `currency`); it is carried in once as one order, so spend goes on from there, though
 * those old orders can no longer be told apart for refunds.
 */
function ledgerOf(row: ContactRow): OrderLedger {
  if (row.orderLedger !== null) {
    const parsed = OrderLedger.safeParse(row.orderLedger);
    if (parsed.success) return parsed.data;
  }
  const carried = row.currency === null || row.lifetimeSpend === 0 ? null : moneyFromMajor(row.lifetimeSpend, row.currency);
  if (carried === null) return emptyLedger();
  const at = row.asOf.toISOString();
  return { ...emptyLedger(), orders: [{ orderId: '(spend before the order ledger)', eventId: 'carried', at, value: carried }] };
}

function rowFromContact(c: StoredContact): Omit<ContactRow, 'lifetimeSpend'> {
  const { orders, ...rest } = c;
  return { ...rest, stage: c.stage, lastOrder: c.lastOrder, orderLedger: orders };
}

/**
 * The customer's contact, locked for this transaction (created when new). The lock serializes
 * everything done for one customer: planning, exits and firing never interleave.
 */
export async function lockContact(tx: Transaction, customerId: string, asOf: Date): Promise<StoredContact> {
  await tx.insert(contacts).values({ customerId, asOf }).onConflictDoNothing();
  const [row] = await tx.select().from(contacts).where(eq(contacts.customerId, customerId)).for('update');
  return row === undefined ? emptyContact(customerId, asOf) : contactFromRow(row);
}

export async function saveContact(tx: Transaction, contact: StoredContact): Promise<void> {
  const { customerId, ...rest } = rowFromContact(contact);
  await tx.update(contacts).set(rest).where(eq(contacts.customerId, customerId));
}

/** Remembers the latest time the customer did an event. */
export async function recordEventTime(tx: Transaction, customerId: string, event: string, at: Date): Promise<void> {
  await tx
    .insert(customerEvents)
    .values({ customerId, event, lastAt: at })
    .onConflictDoUpdate({ target: [customerEvents.customerId, customerEvents.event], set: { lastAt: sql`greatest(${customerEvents.lastAt}, excluded.last_at)` } });
}

/** Latest event times per customer, for the events conditions look at. */
export async function eventTimes(tx: Transaction, customerIds: string[], events: string[]): Promise<Map<string, Map<string, Date>>> {
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

/**
 * The customers' contacts, locked for this transaction (created when new, as of the time given),
 * in customer-id order so two transactions never wait on each other crosswise.
 */
export async function lockContacts(tx: Transaction, asOf: ReadonlyMap<string, Date>): Promise<Map<string, StoredContact>> {
  const ids = [...asOf.keys()].sort();
  const out = new Map<string, StoredContact>();
  if (ids.length === 0) return out;
  const fresh = ids.map((customerId) => ({ customer_id: customerId, as_of: asOf.get(customerId) }));
  await tx.execute(sql`
    INSERT INTO scheduler.contacts (customer_id, as_of)
    SELECT x.customer_id, x.as_of FROM jsonb_to_recordset(${JSON.stringify(fresh)}::jsonb) AS x(customer_id text, as_of timestamptz)
    ON CONFLICT DO NOTHING`);
  const rows = await tx.select().from(contacts).where(anyOf(contacts.customerId, ids)).orderBy(contacts.customerId).for('update');
  for (const row of rows) out.set(row.customerId, contactFromRow(row));
  return out;
}

/** Saves many contacts in one statement. */
export async function saveContacts(tx: Transaction, saved: Iterable<StoredContact>): Promise<void> {
  const rows = [...saved].map(rowFromContact);
  if (rows.length === 0) return;
  await tx.execute(sql`
    UPDATE scheduler.contacts c SET
      email = x.email, first_name = x."firstName", name = x.name, locale = x.locale, time_zone = x."timeZone", as_of = x."asOf",
      stage = x.stage, unsubscribed = x.unsubscribed, subscription_as_of = x."subscriptionAsOf", consent_state = x."consentState",
      consent_sequence = x."consentSequence", birthday = x.birthday, first_order_date = x."firstOrderDate", signup_date = x."signupDate",
      currency = x.currency, order_ledger = x."orderLedger", last_order = x."lastOrder", traits_as_of = x."traitsAsOf",
      topics_opted_out = x."topicsOptedOut", frequency = x.frequency, last_engaged_at = x."lastEngagedAt",
      re_permission_sent_at = x."rePermissionSentAt", sunset_at = x."sunsetAt"
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(
      "customerId" text, email text, "firstName" text, name text, locale text, "timeZone" text, "asOf" timestamptz,
      stage text, unsubscribed boolean, "subscriptionAsOf" timestamptz, "consentState" text,
      "consentSequence" integer, birthday text, "firstOrderDate" text, "signupDate" text,
      currency text, "orderLedger" jsonb, "lastOrder" jsonb, "traitsAsOf" jsonb,
      "topicsOptedOut" jsonb, frequency text, "lastEngagedAt" timestamptz, "rePermissionSentAt" timestamptz, "sunsetAt" timestamptz)
    WHERE c.customer_id = x."customerId"`);
}

/** Remembers the latest times customers did events, many at once (one row per customer and event). */
export async function recordEventTimes(tx: Transaction, times: ReadonlyMap<string, { customerId: string; event: string; at: Date }>): Promise<void> {
  const rows = [...times.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => ({ customer_id: t.customerId, event: t.event, last_at: t.at }));
  if (rows.length === 0) return;
  await tx.execute(sql`
    INSERT INTO scheduler.customer_events (customer_id, event, last_at)
    SELECT x.customer_id, x.event, x.last_at FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(customer_id text, event text, last_at timestamptz)
    ON CONFLICT (customer_id, event) DO UPDATE SET last_at = greatest(customer_events.last_at, excluded.last_at)`);
}
