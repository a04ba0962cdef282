import { createServiceApp, startTopicConsumer, type FastifyInstance, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import { consentChangeHandler, consentChangesHandler, lifecycleEventHandler, lifecycleEventsHandler, messageEventHandler, messageEventsHandler, timerFiredHandler, timersFiredHandler } from './consumer.ts';
import { currencyRates, type Thresholds } from './domain/thresholds.ts';
import { defaultRfmWorkerSettings, startRfmWorker, type RfmWorker, type RfmWorkerSettings } from './rfm-recompute.ts';
import { registerReadApi } from './read-api.ts';
import { classifierGroups } from './rebuild.ts';

export interface Classifier {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  /** The RFM recompute, run off the consumers' path. */
  rfm: RfmWorker;
  /** What shutdown stops after the consumers. */
  background: { stop: () => Promise<void> }[];
}

/**
 * Builds the classifier on an open runtime: consumers of `lifecycle.events`, its fired timers,
 * `messages.events` and `consent.changes`, the RFM worker, and the read API.
 */
export async function buildClassifier(runtime: Runtime, thresholds: Thresholds, rfmSettings: RfmWorkerSettings = defaultRfmWorkerSettings): Promise<Classifier> {
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier',
    topic: 'lifecycleEvents',
    logger: runtime.logger,
    handle: lifecycleEventHandler(runtime, thresholds),
    handleBatch: lifecycleEventsHandler(runtime, thresholds),
  });
  const timers = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier-timers',
    topic: 'timersFired',
    logger: runtime.logger,
    handle: timerFiredHandler(runtime, thresholds),
    handleBatch: timersFiredHandler(runtime, thresholds),
  });
  const engagement = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier-engagement',
    topic: 'messageEvents',
    logger: runtime.logger,
    handle: messageEventHandler(runtime, thresholds),
    handleBatch: messageEventsHandler(runtime, thresholds),
  });
  const consent = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier-consent',
    topic: 'consentChanges',
    logger: runtime.logger,
    handle: consentChangeHandler(runtime, thresholds),
    handleBatch: consentChangesHandler(runtime, thresholds),
  });
  const consumers = [consumer, timers, engagement, consent];
  const app = createServiceApp(runtime, () => consumers, { groups: classifierGroups });
  registerReadApi(app, runtime.db);
  const rfm = startRfmWorker({ pool: runtime.pool, logger: runtime.logger, rates: currencyRates(thresholds), settings: rfmSettings });
  return { app, consumers, rfm, background: [rfm] };
}
