import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { traitsOf, type LifecycleEvent } from '@lifecycle/contracts';
import type { Runtime, TopicConsumerOptions } from '@lifecycle/kit';
import { contacts, jobs, processedEvents } from './db/schema.ts';
import { planJob, type Campaign } from './domain/campaign.ts';

/** A newer event's value wins; an older one only fills a gap. */
function byEventTime(column: AnyPgColumn, name: string): SQL {
  return sql`CASE WHEN excluded.as_of >= ${contacts.asOf} THEN coalesce(excluded.${sql.raw(name)}, ${column}) ELSE coalesce(${column}, excluded.${sql.raw(name)}) END`;
}

/**
 * Handles one lifecycle event: keeps the customer's contact details and plans the jobs of
 * every campaign it triggers. Job keys are deterministic, so a redelivery plans nothing new.
 */
export function lifecycleEventHandler(
  runtime: Runtime,
  campaigns: Campaign[],
  onPlanned: () => void,
): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  const { db, logger } = runtime;
  return async (event: LifecycleEvent) => {
    const planned = campaigns.flatMap((c) => planJob(c, event) ?? []);
    const traits = traitsOf(event.payload.call);
    const contact = {
      customerId: event.customerId,
      email: traits.email ?? null,
      firstName: traits.first_name ?? traits.firstName ?? null,
      name: traits.name ?? null,
      locale: traits.locale ?? event.payload.call.context?.locale ?? null,
      timeZone: traits.timezone ?? event.payload.call.context?.timezone ?? null,
      asOf: new Date(event.occurredAt),
    };
    const inserted = await db.transaction(async (tx) => {
      const fresh = await tx.insert(processedEvents).values({ eventId: event.id }).onConflictDoNothing().returning();
      if (fresh.length === 0) return [];
      await tx
        .insert(contacts)
        .values(contact)
        .onConflictDoUpdate({
          target: contacts.customerId,
          set: {
            email: byEventTime(contacts.email, 'email'),
            firstName: byEventTime(contacts.firstName, 'first_name'),
            name: byEventTime(contacts.name, 'name'),
            locale: byEventTime(contacts.locale, 'locale'),
            timeZone: byEventTime(contacts.timeZone, 'time_zone'),
            asOf: sql`greatest(excluded.as_of, ${contacts.asOf})`,
          },
        });
      if (planned.length === 0) return [];
      return tx.insert(jobs).values(planned).onConflictDoNothing().returning({ dedupeKey: jobs.dedupeKey, campaignId: jobs.campaignId, dueAt: jobs.dueAt });
    });
    for (const job of inserted) {
      logger.info({ eventId: event.id, customerId: event.customerId, campaignId: job.campaignId, dueAt: job.dueAt.toISOString() }, 'message planned');
    }
    if (inserted.length > 0) onPlanned();
  };
}
