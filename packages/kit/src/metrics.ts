import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { topicName, type TopicKey } from '@lifecycle/contracts';
import type { FastifyInstance } from './http.ts';

export { Counter, Gauge, Registry };

/** A consumer group of the service and the topic it reads, named as given to the consumer (without the prefix). */
export interface ConsumerGroupRef {
  groupId: string;
  topic: TopicKey;
}

/** One partition's lag: records on the partition the group has not committed past yet. */
export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  lag: number;
  /** The group's committed offset (the next record it reads); null when it has committed none on the partition. */
  committed: number | null;
  /** The partition's high watermark: the offset the next record written gets. */
  high: number;
}

export interface ServiceMetricsOptions {
  kafka: Kafka;
  prefix: string;
  logger: Logger;
  /** The groups whose lag `/metrics` shows. */
  groups: readonly ConsumerGroupRef[];
  /** The service's own metrics live here too; default: a new registry. */
  registry?: Registry;
  /** Lag figures older than this are read again on the next scrape (default 10 s). */
  lagMaxAgeMs?: number;
  /** How long a scrape waits for fresh lag figures before it answers with the last ones (default 3 s). */
  lagWaitMs?: number;
}

export interface ServiceMetrics {
  registry: Registry;
  /** Reads the groups' lag from the broker now. */
  readLag: () => Promise<PartitionLag[]>;
  /** Waits for a lag read under way, then disconnects the admin client. */
  close: () => Promise<void>;
}

/** A registry with Node's process metrics (`process_*`, `nodejs_*`): one per service app. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * How far behind a group is on each partition: the high watermark minus the committed offset.
 * A group with nothing committed on a partition has all of it to read (it starts at the log
 * start); a committed offset below the log start counts from the log start, since the records
 * before it are gone.
 */
export function partitionLag(offsets: { partition: number; high: string; low: string }[], committed: Map<number, string>): { partition: number; lag: number }[] {
  return offsets.map((p) => {
    const high = Number(p.high);
    const low = Number(p.low);
    const at = Number(committed.get(p.partition) ?? '-1');
    const from = at < 0 ? low : Math.max(at, low);
    return { partition: p.partition, lag: Math.max(0, high - from) };
  });
}

/**
 * The service's Prometheus metrics: the process metrics, whatever the service registers itself,
 * and `lifecycle_kafka_consumer_lag` per group, topic and partition. Lag is read through the
 * kafkajs admin client when a scrape finds the last figures older than `lagMaxAgeMs`, so an
 * idle service asks the broker nothing, and a scrape while Kafka is down answers within
 * `lagWaitMs` with the last figures (`lifecycle_kafka_consumer_lag_age_seconds` says how old).
 */
export function createServiceMetrics(opts: ServiceMetricsOptions): ServiceMetrics {
  const registry = opts.registry ?? createMetricsRegistry();
  const maxAgeMs = opts.lagMaxAgeMs ?? 10_000;
  const waitMs = opts.lagWaitMs ?? 3_000;
  const log = opts.logger.child({ component: 'consumer-lag' });
  let admin: Admin | undefined;
  let last: { samples: PartitionLag[]; at: number } | undefined;
  let reading: Promise<void> | undefined;

  const connectedAdmin = async (): Promise<Admin> => {
    if (admin !== undefined) return admin;
    const created = opts.kafka.admin();
    await created.connect();
    admin = created;
    return created;
  };

  const readLag = async (): Promise<PartitionLag[]> => {
    const client = await connectedAdmin();
    const samples: PartitionLag[] = [];
    const highs = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
    for (const ref of opts.groups) {
      const topic = topicName(opts.prefix, ref.topic);
      const group = opts.prefix + ref.groupId;
      const offsets = highs.get(topic) ?? (await client.fetchTopicOffsets(topic));
      highs.set(topic, offsets);
      const [found] = await client.fetchOffsets({ groupId: group, topics: [topic] });
      const committed = new Map((found?.partitions ?? []).map((p) => [p.partition, p.offset]));
      const highOf = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
      for (const p of partitionLag(offsets, committed)) {
        const at = Number(committed.get(p.partition) ?? '-1');
        samples.push({ group, topic, ...p, committed: at < 0 ? null : at, high: highOf.get(p.partition) ?? 0 });
      }
    }
    return samples;
  };

  const refresh = (): Promise<void> => {
    reading ??= readLag()
      .then((samples) => {
        last = { samples, at: performance.now() };
      })
      .catch((err: unknown) => {
        log.warn({ err }, 'consumer lag not read, /metrics shows the last figures');
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };

  const lag = new Gauge({
    name: 'lifecycle_kafka_consumer_lag',
    help: 'Records on a partition that the consumer group has not committed yet (high watermark minus committed offset).',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    collect: async () => {
      if (opts.groups.length === 0) return;
      if (last === undefined || performance.now() - last.at >= maxAgeMs) {
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, waitMs);
          timer.unref();
        });
        await Promise.race([refresh(), gaveUp]);
        clearTimeout(timer);
      }
      lag.reset();
      for (const s of last?.samples ?? []) lag.set({ group: s.group, topic: s.topic, partition: String(s.partition) }, s.lag);
    },
  });

  const age = new Gauge({
    name: 'lifecycle_kafka_consumer_lag_age_seconds',
    help: 'Seconds since the consumer lag figures were read from the broker (read again on a scrape once older than 10 s by default).',
    registers: [registry],
    collect: () => {
      age.reset();
      if (last !== undefined) age.set((performance.now() - last.at) / 1000);
    },
  });

  return {
    registry,
    readLag,
    close: async () => {
      await reading;
      const open = admin;
      admin = undefined;
      await open?.disconnect();
    },
  };
}

/**
 * `GET /metrics` on the app: Prometheus text, or `json()`'s answer for `?format=json` when the
 * service offers one. The admin client is disconnected when the app closes.
 */
export function installMetrics(app: FastifyInstance, metrics: ServiceMetrics, opts: { json?: () => Promise<unknown> } = {}): void {
  app.get('/metrics', async (request, reply) => {
    const query = request.query;
    const wantsJson = typeof query === 'object' && query !== null && 'format' in query && query.format === 'json';
    if (wantsJson && opts.json !== undefined) return opts.json();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.addHook('onClose', async () => metrics.close());
}

/**
 * `GET /admin/consumer-lag`: the lag `/metrics` shows, read from the broker now, as JSON
 * (`{ groups: [{ groupId, topic, partition, lag, committed, high }] }`; names as on the broker,
 * prefix included). 503 while Kafka does not answer.
 */
export function installConsumerLagApi(app: FastifyInstance, metrics: Pick<ServiceMetrics, 'readLag'>): void {
  app.get('/admin/consumer-lag', async (request, reply) => {
    let samples: PartitionLag[];
    try {
      samples = await metrics.readLag();
    } catch (err) {
      request.log.warn({ err }, 'consumer lag not read');
      return reply.status(503).send({ error: 'consumer lag cannot be read right now (Kafka unavailable); retry later' });
    }
    const sorted = [...samples].sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
    return { groups: sorted.map((s) => ({ groupId: s.group, topic: s.topic, partition: s.partition, lag: s.lag, committed: s.committed, high: s.high })) };
  });
}
