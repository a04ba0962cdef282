import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FastifyInstance, Runtime } from '@lifecycle/kit';
import { contacts, customerEvents, jobs } from './db/schema.ts';
import type { Campaign } from './domain/campaign.ts';
import type { Clock } from './domain/clock.ts';
import { explainCampaign, type WhyContact } from './domain/why.ts';

const IdParams = z.object({ id: z.string().min(1) });
const ByEmail = z.object({ email: z.email() });
const ByName = z.object({ name: z.string().trim().min(2, 'a name to look for, at least 2 characters').max(100) });
/** `?email=` or `?name=`: each parsed on its own, so a 400 names the field that is wrong. */
const ContactQuery = z.record(z.string(), z.unknown()).transform((q, ctx): { email: string } | { name: string } => {
  if ('email' in q) return ByEmail.parse(q);
  if ('name' in q) return ByName.parse(q);
  ctx.addIssue({ code: 'custom', path: ['email'], message: 'give email (an address) or name (part of a name)' });
  return z.NEVER;
});
/** At most this many contacts answer a name. */
const NAME_MATCHES = 20;
const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
const WhyQuery = z.object({ campaign: z.string().min(1) });

export interface ReadApiOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  clock: Clock;
}

type ContactRow = typeof contacts.$inferSelect;

const iso = (at: Date | null): string | null => (at === null ? null : at.toISOString());

function whyContact(row: ContactRow): WhyContact {
  return {
    email: row.email,
    locale: row.locale,
    timeZone: row.timeZone,
    stage: row.stage,
    unsubscribed: row.unsubscribed,
    consentState: row.consentState,
    subscriptionAsOf: row.subscriptionAsOf,
    birthday: row.birthday,
    firstOrderDate: row.firstOrderDate,
    signupDate: row.signupDate,
  };
}

/** The read API for the console: contacts, a customer's jobs and why a campaign reached them or not. */
export function registerReadApi(app: FastifyInstance, opts: ReadApiOptions): void {
  const { db } = opts.runtime;
  const findContact = async (customerId: string): Promise<ContactRow | undefined> => (await db.select().from(contacts).where(eq(contacts.customerId, customerId)))[0];

  app.get('/contacts', async (request, reply) => {
    const query = ContactQuery.parse(request.query);
    if ('name' in query) {
      // A person looked up by name: first name or full name containing the text, any case.
      const pattern = likePattern(query.name);
      const rows = await db
        .select({ customerId: contacts.customerId, firstName: contacts.firstName, name: contacts.name, email: contacts.email })
        .from(contacts)
        .where(sql`${contacts.firstName} ILIKE ${pattern} OR ${contacts.name} ILIKE ${pattern}`)
        .orderBy(asc(contacts.customerId))
        .limit(NAME_MATCHES + 1);
      return { contacts: rows.slice(0, NAME_MATCHES), more: rows.length > NAME_MATCHES };
    }
    const { email } = query;
    // The address as any case: the oldest contact first, so the answer does not change when another id shares it.
    const [row] = await db
      .select({ customerId: contacts.customerId })
      .from(contacts)
      .where(sql`lower(${contacts.email}) = lower(${email})`)
      .orderBy(asc(contacts.asOf), asc(contacts.customerId))
      .limit(1);
    if (row === undefined) return reply.status(404).send({ error: 'no contact with this email' });
    return { customerId: row.customerId };
  });

  app.get('/contacts/:id', async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const row = await findContact(id);
    if (row === undefined) return reply.status(404).send({ error: `no contact with id ${id}` });
    return {
      customerId: row.customerId,
      email: row.email,
      firstName: row.firstName,
      locale: row.locale,
      timeZone: row.timeZone,
      stage: row.stage,
      consent: { state: row.consentState, marketingAllowed: !row.unsubscribed, asOf: iso(row.subscriptionAsOf), sequence: row.consentSequence },
      preferences: { topicsOptedOut: row.topicsOptedOut, frequency: row.frequency },
      engagement: { lastEngagedAt: iso(row.lastEngagedAt), rePermissionSentAt: iso(row.rePermissionSentAt), sunsetAt: iso(row.sunsetAt) },
      birthday: row.birthday,
      firstOrderDate: row.firstOrderDate,
      signupDate: row.signupDate,
      asOf: row.asOf.toISOString(),
    };
  });

  app.get('/customers/:id/jobs', async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const rows = await db.select().from(jobs).where(eq(jobs.customerId, id)).orderBy(desc(jobs.createdAt), asc(jobs.dedupeKey));
    if (rows.length === 0 && (await findContact(id)) === undefined) return reply.status(404).send({ error: `no contact with id ${id}` });
    return {
      jobs: rows.map((j) => ({
        dedupeKey: j.dedupeKey,
        campaignId: j.campaignId,
        status: j.status,
        skipReason: j.skipReason,
        skipDetail: j.skipDetail,
        dueAt: j.dueAt.toISOString(),
        firedAt: iso(j.firedAt),
        createdAt: j.createdAt.toISOString(),
        triggerAt: j.triggerAt.toISOString(),
        deferrals: j.deferrals,
        variant: j.variant,
      })),
    };
  });

  app.get('/customers/:id/why', async (request, reply) => {
    const { id } = IdParams.parse(request.params);
    const { campaign: campaignId } = WhyQuery.parse(request.query);
    const campaign = opts.campaigns.find((c) => c.id === campaignId);
    if (campaign === undefined) return reply.status(404).send({ error: `no campaign "${campaignId}"; GET /campaigns lists them` });
    const contact = await findContact(id);
    const rows = await db.select().from(jobs).where(and(eq(jobs.customerId, id), eq(jobs.campaignId, campaignId)));
    if (contact === undefined && rows.length === 0) return reply.status(404).send({ error: `no contact with id ${id}` });
    const triggerEvent = 'event' in campaign.trigger ? campaign.trigger.event : null;
    const [last] =
      triggerEvent === null
        ? []
        : await db
            .select({ lastAt: customerEvents.lastAt })
            .from(customerEvents)
            .where(and(eq(customerEvents.customerId, id), eq(customerEvents.event, triggerEvent)));
    return explainCampaign({ campaign, contact: contact === undefined ? null : whyContact(contact), jobs: rows, lastTriggerEventAt: last?.lastAt ?? null, now: opts.clock.now() });
  });
}
