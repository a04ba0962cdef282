import { createServiceApp, startTopicConsumer, type FastifyInstance, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import { commerceEventHandler } from './consumer.ts';

export interface Ingestion {
  app: FastifyInstance;
  consumers: RunningConsumer[];
}

/** Builds the ingestion service on an open runtime: the `commerce.events` consumer and the HTTP app. */
export async function buildIngestion(runtime: Runtime): Promise<Ingestion> {
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    groupId: 'lifecycle-ingestion',
    topic: 'commerceEvents',
    logger: runtime.logger,
    handle: commerceEventHandler(runtime),
  });
  const consumers = [consumer];
  return { app: createServiceApp(runtime, () => consumers), consumers };
}
