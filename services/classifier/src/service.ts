import { componentGroup, componentReadiness, createOutbox, outboxRelay, startInProcess, topicConsumerComponent, type ConsumerComponent, type FastifyInstance, type InProcess, type Outbox, type Runtime, type ServiceParts } from '@lifecycle/kit';
import { createClassifierApp } from './app.ts';
import { consentChangeHandler, consentChangesHandler, lifecycleEventHandler, lifecycleEventsHandler, messageEventHandler, messageEventsHandler, timerFiredHandler, timersFiredHandler } from './consumer.ts';
import { currencyRates, type Thresholds } from './domain/thresholds.ts';
import { privacyConsumer } from './privacy.ts';
import { createRfmWorker, defaultRfmWorkerSettings, type RfmWorker, type RfmWorkerSettings } from './rfm-recompute.ts';

export interface ClassifierService extends ServiceParts<FastifyInstance> {
  /** The consumers of `lifecycle.events`, fired timers, `messages.events` and `consent.changes`. */
  consumers: ConsumerComponent[];
  /** The RFM recompute, run off the consumers' path. */
  rfm: RfmWorker;
  /** Stage changes and timer requests waiting for the relay. */
  outbox: Outbox;
}

/**
 * The classifier on an open runtime, built but not started: the HTTP app, and its components in
 * start-up order — the outbox relay, the RFM worker, the four consumers (joining side by side).
 * Shutdown runs them backwards: the consumers finish their batches, the worker its run, then the
 * relay publishes what they enqueued.
 */
export function classifierService(runtime: Runtime, thresholds: Thresholds, rfmSettings: RfmWorkerSettings = defaultRfmWorkerSettings): ClassifierService {
  const outbox = createOutbox({ pool: runtime.pool, kafka: runtime.kafka, schema: 'classifier', prefix: runtime.prefix, logger: runtime.logger });
  const common = { kafka: runtime.kafka, producer: runtime.producer, prefix: runtime.prefix, pool: runtime.pool, logger: runtime.logger };
  const consumers = [
    topicConsumerComponent({
      ...common,
      groupId: 'lifecycle-classifier',
      topic: 'lifecycleEvents',
      handle: lifecycleEventHandler(runtime, thresholds, outbox),
      handleBatch: lifecycleEventsHandler(runtime, thresholds, outbox),
    }),
    topicConsumerComponent({
      ...common,
      groupId: 'lifecycle-classifier-timers',
      topic: 'timersFired',
      handle: timerFiredHandler(runtime, thresholds, outbox),
      handleBatch: timersFiredHandler(runtime, thresholds, outbox),
    }),
    topicConsumerComponent({
      ...common,
      groupId: 'lifecycle-classifier-engagement',
      topic: 'messageEvents',
      handle: messageEventHandler(runtime, thresholds, outbox),
      handleBatch: messageEventsHandler(runtime, thresholds, outbox),
    }),
    topicConsumerComponent({
      ...common,
      groupId: 'lifecycle-classifier-consent',
      topic: 'consentChanges',
      handle: consentChangeHandler(runtime, thresholds, outbox),
      handleBatch: consentChangesHandler(runtime, thresholds, outbox),
    }),
    privacyConsumer(runtime, outbox),
  ];
  const rfm = createRfmWorker({ pool: runtime.pool, logger: runtime.logger, rates: currencyRates(thresholds), settings: rfmSettings });
  const components = [outboxRelay(outbox), rfm, componentGroup('consumers', consumers)];
  const app = createClassifierApp({ runtime, readiness: componentReadiness(components) });
  return { app, components, consumers, rfm, outbox };
}

export type Classifier = InProcess<ClassifierService>;

/** The classifier started in this process (tests, benchmarks): drive `app` with `inject()`, end with `stop()`. */
export function startClassifier(runtime: Runtime, thresholds: Thresholds, rfmSettings?: RfmWorkerSettings): Promise<Classifier> {
  return startInProcess(classifierService(runtime, thresholds, rfmSettings), runtime.logger);
}
