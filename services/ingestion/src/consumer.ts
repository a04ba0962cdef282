import { publish, RejectRecord, type Runtime, type TopicConsumerOptions } from '@lifecycle/kit';
import type { SegmentCall } from '@lifecycle/contracts';
import { seenMessages } from './db/schema.ts';
import { acceptCall } from './domain/accept-call.ts';

/**
 * Handles one call from `commerce.events`: validates it, drops a repeated messageId, and
 * publishes the clean event. The seen-row and the publish share one transaction: if the
 * publish fails nothing is recorded and the redelivery tries again.
 */
export function commerceEventHandler(runtime: Runtime): TopicConsumerOptions<'commerceEvents'>['handle'] {
  const { db, producer, prefix, logger } = runtime;
  return async (call: SegmentCall) => {
    const result = acceptCall(call);
    if (!result.ok) throw new RejectRecord(result.reason, result.errors);
    const { event } = result;
    await db.transaction(async (tx) => {
      const inserted = await tx
        .insert(seenMessages)
        .values({ messageId: call.messageId, customerId: event.customerId })
        .onConflictDoNothing()
        .returning({ messageId: seenMessages.messageId });
      if (inserted.length === 0) {
        logger.info({ eventId: event.id, customerId: event.customerId }, 'duplicate event dropped');
        return;
      }
      await publish(producer, prefix, 'lifecycleEvents', [event]);
      logger.debug({ eventId: event.id, customerId: event.customerId }, 'event accepted');
    });
  };
}
