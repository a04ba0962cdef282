import type pg from 'pg';
import type { Logger } from 'pino';
import { createDatabase, createPool, databaseReachable, ensureDatabase, runMigrations, type Database } from './db.ts';
import { createKafka, createProducer, type Kafka, type Producer } from './kafka.ts';
import { createBaseApp, type FastifyInstance, type Readiness } from './http.ts';
import { installShutdown } from './shutdown.ts';
import { createLogger } from './logger.ts';
import { ConfigError } from './config.ts';
import { retry } from './retry.ts';
import { describeError, serializeError } from './error-serializer.ts';
import { createServiceMetrics, installConsumerLagApi, installMetrics, type ConsumerGroupRef, type Registry, type ServiceMetrics } from './metrics.ts';
import { createDeadLetterStore, installDeadLetterApi } from './dead-letters.ts';
import { startComponents, type ServiceParts } from './components.ts';

export interface RuntimeConfig {
  KAFKA_BROKERS: string[];
  DATABASE_URL: string;
  LOG_LEVEL: string;
  TOPIC_PREFIX: string;
  /** Given, the service's apps require it on every route but the open ones (see `openRoutes`). */
  SERVICE_TOKEN?: string | undefined;
}

/** The connections a service is built from, handed to its factories as one options object. */
export interface Runtime {
  service: string;
  logger: Logger;
  pool: pg.Pool;
  db: Database;
  kafka: Kafka;
  producer: Producer;
  prefix: string;
  /** What `createServiceApp` requires as `Authorization: Bearer …` on protected routes; unset, every route is open. */
  serviceToken?: string | undefined;
  close: () => Promise<void>;
}

/**
 * Connects a service to its infrastructure: creates the database if missing, applies the
 * service's migrations in its own schema (under a lock, so services and replicas may start
 * together on an empty database), connects a producer.
 */
export async function openRuntime(opts: {
  service: string;
  config: RuntimeConfig;
  schema: string;
  /** Names the schema had before it was named for its service: renamed on the first start (see `runMigrations`). */
  previousSchemaNames?: readonly string[];
  migrationsFolder: string;
  logger?: Logger;
  /** Tries to connect the producer before start-up fails (default 8, about 20 s). */
  connectAttempts?: number;
}): Promise<Runtime> {
  const { service, config } = opts;
  const logger = opts.logger ?? createLogger(service, config.LOG_LEVEL);
  await ensureDatabase(config.DATABASE_URL);
  const pool = createPool(config.DATABASE_URL);
  pool.on('error', (err) => logger.error({ err }, 'idle database connection failed'));
  const migrated = await runMigrations(config.DATABASE_URL, { schema: opts.schema, migrationsFolder: opts.migrationsFolder, ...(opts.previousSchemaNames === undefined ? {} : { previousNames: opts.previousSchemaNames }) });
  if (migrated.applied > 0 || migrated.adopted > 0) logger.info({ schema: opts.schema, ...migrated }, 'database migrated');
  const kafka = createKafka({ clientId: `lifecycle-${service}`, brokers: config.KAFKA_BROKERS, logger });
  const producer = createProducer(kafka);
  // A broker that has just died is still listed by the cluster for a few seconds, and the
  // idempotent producer's first call (its producer id) can go to it: try again rather than exit.
  const connected = await retry(() => producer.connect(), {
    maxAttempts: opts.connectAttempts ?? 8,
    baseDelayMs: 500,
    maxDelayMs: 5_000,
    onRetry: (err, attempt, delayMs) => logger.warn({ err, attempt, delayMs }, 'Kafka producer could not connect, trying again'),
  });
  if (!connected.ok) throw connected.error;
  return {
    service,
    logger,
    pool,
    db: createDatabase(pool),
    kafka,
    producer,
    prefix: config.TOPIC_PREFIX,
    serviceToken: config.SERVICE_TOKEN,
    close: async () => {
      await producer.disconnect();
      await pool.end();
    },
  };
}

/** What a service's `GET /metrics` shows besides the process metrics. */
export interface ServiceMetricsWiring {
  /** The consumer groups whose lag per partition it shows. */
  groups: readonly ConsumerGroupRef[];
  /** A registry holding the service's own metrics; default: a new one. */
  registry?: Registry;
  /** The answer to `?format=json`, for a service that documents one. */
  json?: () => Promise<unknown>;
  /** Lag figures older than this are read again on a scrape (default 10 s). */
  lagMaxAgeMs?: number;
}

export interface ServiceAppOptions {
  /** What `/readyz` gates on besides the database: usually `componentReadiness(components)`. */
  readiness: Readiness;
  /** Given, `/metrics` (Prometheus text: process metrics and consumer lag). */
  metrics?: ServiceMetricsWiring | undefined;
}

/**
 * A service's HTTP app with `/healthz`, `/readyz` (the given checks and the database) and, given
 * `metrics`, `/metrics`. It starts nothing: the components it reports on are started beside it.
 */
export function createServiceApp(runtime: Runtime, opts: ServiceAppOptions): FastifyInstance {
  const app = createBaseApp({
    logger: runtime.logger,
    readiness: { ...opts.readiness, database: () => databaseReachable(runtime.pool) },
    serviceToken: runtime.serviceToken,
  });
  const { metrics } = opts;
  if (metrics !== undefined) {
    const served = createServiceMetrics({
      kafka: runtime.kafka,
      prefix: runtime.prefix,
      logger: runtime.logger,
      groups: metrics.groups,
      registry: metrics.registry,
      lagMaxAgeMs: metrics.lagMaxAgeMs,
    });
    installMetrics(app, served, { json: metrics.json });
    installOperatorApi(app, runtime, { groups: metrics.groups, metrics: served });
  }
  return app;
}

/**
 * The routes every service offers its operators (and the console), for the consumer groups it
 * runs: `GET /admin/consumer-lag`, and the dead-letter API over the `.dlq` topics of the topics
 * those groups read. `createServiceApp` installs them; an app built otherwise calls this.
 */
export function installOperatorApi(app: FastifyInstance, runtime: Runtime, opts: { groups: readonly ConsumerGroupRef[]; metrics: Pick<ServiceMetrics, 'readLag'> }): void {
  installConsumerLagApi(app, opts.metrics);
  installDeadLetterApi(
    app,
    createDeadLetterStore({
      kafka: runtime.kafka,
      producer: runtime.producer,
      prefix: runtime.prefix,
      topics: opts.groups.map((g) => g.topic),
      logger: runtime.logger,
      service: runtime.service,
    }),
  );
}

/**
 * Runs a service: starts its components in order (a failing start stops those already started
 * and rejects), listens, then installs the one shutdown path. On SIGTERM or SIGINT it stops the
 * components in reverse order (consumers stop fetching, finish their in-flight batches and commit
 * before the relay publishes what they enqueued), closes the HTTP server, then the producer and
 * pool, and exits non-zero if that overruns the deadline.
 */
export async function runService(opts: ServiceParts<FastifyInstance> & {
  runtime: Runtime;
  host: string;
  port: number;
  /** How long shutdown may take before the process exits 1 (default 10 s). */
  shutdownDeadlineMs?: number;
}): Promise<void> {
  const { runtime, app, components } = opts;
  const stopComponents = await startComponents(components, runtime.logger);
  let address: string;
  try {
    address = await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await stopComponents().catch(() => undefined);
    throw err;
  }
  runtime.logger.info({ address, components: components.map((c) => c.name) }, 'service started');
  installShutdown(
    runtime.logger,
    [
      // One step each, in reverse start-up order: a step that fails is logged and the next runs.
      ...[...components].reverse().map((c) => ({ name: c.name, run: () => c.stop() })),
      { name: 'http', run: () => app.close() },
      { name: 'connections', run: runtime.close },
    ],
    opts.shutdownDeadlineMs,
  );
}


/** What a service's `main.ts` hands `runServiceMain`. */
export interface ServiceMain<C extends RuntimeConfig & { HOST: string; PORT: number }, Files> {
  service: string;
  /** The PostgreSQL schema the service owns (and records its migrations in). */
  schema: string;
  previousSchemaNames?: readonly string[];
  /** The service's drizzle-kit migrations folder. */
  migrationsFolder: string;
  /** Parses the environment; a `ConfigError` names the variable. */
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  /** Reads the files the service is configured by (campaigns, thresholds), before it connects to anything: a mistake stops it first. */
  readFiles: (config: C) => Promise<Files>;
  /** The service built on its runtime, not started. */
  build: (runtime: Runtime, config: C, files: Files) => ServiceParts<FastifyInstance>;
}

/**
 * A service process from start to end, the one place that decides the order: configuration, the
 * files it is configured by, the runtime (database, migrations, producer), the service's parts,
 * then `runService`. A bad configuration exits 2, any other start-up failure 1.
 */
export function runServiceMain<C extends RuntimeConfig & { HOST: string; PORT: number }, Files>(main: ServiceMain<C, Files>): Promise<void> {
  return runMain(main.service, async () => {
    const config = main.loadConfig(process.env);
    const files = await main.readFiles(config);
    const runtime = await openRuntime({
      service: main.service,
      config,
      schema: main.schema,
      migrationsFolder: main.migrationsFolder,
      ...(main.previousSchemaNames === undefined ? {} : { previousSchemaNames: main.previousSchemaNames }),
    });
    if (runtime.serviceToken === undefined) runtime.logger.warn('no SERVICE_TOKEN set: read and admin routes are open to anyone who can reach the port');
    const { app, components } = main.build(runtime, config, files);
    await runService({ runtime, app, components, host: config.HOST, port: config.PORT });
  });
}

/**
 * Runs a service's start-up; a bad configuration prints which variable is wrong and exits 2,
 * any other start-up failure prints the error and exits 1.
 */
export async function runMain(service: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(2);
    }
    const serialized = serializeError(err);
    const text = typeof serialized === 'object' && serialized !== null && 'stack' in serialized && typeof serialized.stack === 'string' ? serialized.stack : describeError(err);
    process.stderr.write(`${service}: failed to start: ${text}\n`);
    process.exit(1);
  }
}
