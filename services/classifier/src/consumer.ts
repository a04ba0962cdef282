import { publish, type Runtime, type TopicConsumerOptions } from '@lifecycle/kit';
import type { LifecycleEvent, StageChanged } from '@lifecycle/contracts';
import { processedEvents, stageHistory } from './db/schema.ts';
import { applyEvent, emptyProfile } from './domain/profile.ts';
import { decideStage } from './domain/stage-rules.ts';
import { loadProfileForUpdate, saveProfile } from './profile-repository.ts';

/**
 * Folds one lifecycle event into the customer's profile and re-decides the stage. The
 * processed-id, the profile, the history row and the stage-change record are written in one
 * transaction, so a redelivered event changes nothing and emits nothing.
 */
export function lifecycleEventHandler(runtime: Runtime): TopicConsumerOptions<'lifecycleEvents'>['handle'] {
  const { db, producer, prefix, logger } = runtime;
  return async (event: LifecycleEvent) => {
    await db.transaction(async (tx) => {
      const fresh = await tx.insert(processedEvents).values({ eventId: event.id }).onConflictDoNothing().returning();
      if (fresh.length === 0) {
        logger.info({ eventId: event.id, customerId: event.customerId }, 'event already processed');
        return;
      }
      const before = (await loadProfileForUpdate(tx, event.customerId)) ?? emptyProfile(event.customerId, event.occurredAt);
      const updated = applyEvent(before, event);
      const decision = decideStage(updated);
      await saveProfile(tx, { ...updated, stage: decision.stage });
      if (decision.stage === before.stage) return;
      const change: StageChanged = {
        id: `${event.id}:stage`,
        type: 'stage.changed',
        version: 1,
        occurredAt: event.occurredAt,
        customerId: event.customerId,
        causationId: event.id,
        payload: { from: before.stage, to: decision.stage, reason: decision.reason, eventId: event.id },
      };
      await tx.insert(stageHistory).values({
        customerId: event.customerId,
        fromStage: before.stage,
        toStage: decision.stage,
        reason: decision.reason,
        eventId: event.id,
        occurredAt: event.occurredAt,
      });
      await publish(producer, prefix, 'stageChanges', [change]);
      logger.info({ eventId: event.id, customerId: event.customerId, from: before.stage, to: decision.stage, reason: decision.reason }, 'stage changed');
    });
  };
}
