import { createOutbox, createServiceApp, startTopicConsumer, type FastifyInstance, type Outbox, type RunningConsumer, type Runtime } from '@lifecycle/kit';
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
  /** Stage changes and timer requests waiting for the relay; it stops when the app closes. */
  outbox: Outbox;
}

/**
 * Builds the classifier on an open runtime: consumers of `lifecycle.events`, its fired timers,
 * `messages.events` and `consent.changes`, the outbox relay, the RFM worker, and the read API.
 */
export async function buildClassifier(runtime: Runtime, thresholds: Thresholds, rfmSettings: RfmWorkerSettings = defaultRfmWorkerSettings): Promise<Classifier> {
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'lifecycle', prefix: runtime.prefix, logger: runtime.logger });
  outbox.start();
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier',
    topic: 'lifecycleEvents',
    logger: runtime.logger,
    handle: lifecycleEventHandler(runtime, thresholds, outbox),
    handleBatch: lifecycleEventsHandler(runtime, thresholds, outbox),
  });
  const timers = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier-timers',
    topic: 'timersFired',
    logger: runtime.logger,
    handle: timerFiredHandler(runtime, thresholds, outbox),
    handleBatch: timersFiredHandler(runtime, thresholds, outbox),
  });
  const engagement = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier-engagement',
    topic: 'messageEvents',
    logger: runtime.logger,
    handle: messageEventHandler(runtime, thresholds, outbox),
    handleBatch: messageEventsHandler(runtime, thresholds, outbox),
  });
  const consent = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    groupId: 'lifecycle-classifier-consent',
    topic: 'consentChanges',
    logger: runtime.logger,
    handle: consentChangeHandler(runtime, thresholds, outbox),
    handleBatch: consentChangesHandler(runtime, thresholds, outbox),
  });
  const consumers = [consumer, timers, engagement, consent];
  const app = createServiceApp(runtime, () => consumers, { groups: classifierGroups });
  registerReadApi(app, runtime.db);
  const rfm = startRfmWorker({ pool: runtime.pool, logger: runtime.logger, rates: currencyRates(thresholds), settings: rfmSettings });
  // The shutdown path closes the app after the consumers: what they enqueued goes out.
  app.addHook('onClose', () => outbox.stop());
  return { app, consumers, rfm, background: [rfm], outbox };
}
