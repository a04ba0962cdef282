import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, parseConfig, parseTopicSizing, type TopicSettings, type TopicSizing } from '@lifecycle/kit';
import { repoRoot } from './kafka-broker.ts';

/** The services `./lifecycle start` runs, in start-up order, with the port each listens on. */
export const serviceCatalog = [
  { name: 'ingestion', port: 3001 },
  { name: 'classifier', port: 3002 },
  { name: 'scheduler', port: 3003 },
  { name: 'messaging', port: 3004 },
] as const;

export type ServiceName = (typeof serviceCatalog)[number]['name'];

/**
 * The console (docs/console.md): started by `./lifecycle start` after the services, but not one
 * of them (no Kafka, not in the schema and wiring lists that `serviceCatalog` feeds).
 */
export const consoleProcess = { name: 'console', port: 3005, entry: join('services', 'console', 'src', 'main.ts') } as const;

/** What `./lifecycle start` may be asked to run: a service or the console. */
export type StackProcessName = ServiceName | typeof consoleProcess.name;

export function isStackProcessName(name: string): name is StackProcessName {
  return name === consoleProcess.name || isServiceName(name);
}

export function isServiceName(name: string): name is ServiceName {
  return serviceCatalog.some((s) => s.name === name);
}

/** Each service's port: the catalog's, unless `overrides` names another. */
export function servicePorts(overrides: Partial<Record<ServiceName, number>> = {}): Record<ServiceName, number> {
  const port = (name: ServiceName): number => overrides[name] ?? serviceCatalog.find((s) => s.name === name)?.port ?? 0;
  return { ingestion: port('ingestion'), classifier: port('classifier'), scheduler: port('scheduler'), messaging: port('messaging') };
}

/** The entry point of a service, relative to the repository root. */
export function serviceEntry(name: ServiceName): string {
  return join('services', name, 'src', 'main.ts');
}

/**
 * Node flags for the processes the tools start. kafkajs 2.2.4 hands setTimeout a negative delay
 * that Node 24 warns about on every connection (tulios/kafkajs#1751); Node clamps it to 1 ms, so
 * the warning is only noise. A young generation of 8 MB semi-spaces instead of the default sized
 * from the machine's memory (up to 64 MB): a service's live heap is a few tens of MB, and the
 * end-to-end bench of 2026-12-07 saw each service's peak RSS fall from 340–420 MB to 210–290 MB
 * with no loss of throughput (the services' image sets the same in NODE_OPTIONS).
 */
export const nodeFlags = ['--disable-warning=TimeoutNegativeWarning', '--max-semi-space-size=8'];

/** `6`, `commerce.events=12`, or both (`6,commerce.events=12`); see `parseTopicSizing`. */
const topicSizing = z
  .string()
  .transform((text, ctx): TopicSizing => {
    try {
      return parseTopicSizing(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  })
  .optional();

const StackEnv = z.object({
  ...baseConfigShape,
  OUTBOX_DIR: z.string().optional(),
  TOPIC_PARTITIONS: topicSizing,
  TOPIC_REPLICATION_FACTOR: topicSizing,
});

export interface StackConfig {
  /** The brokers named in KAFKA_BROKERS; undefined means "use the local broker". */
  brokersFromEnv: string[] | undefined;
  databaseUrl: string;
  topicPrefix: string;
  /** The address the services listen on. */
  host: string;
  /** Where the messaging service writes emails when no SendGrid key is set. */
  outboxDir: string;
  /** Partitions and replicas beyond the catalog's, for topics created from now on. */
  topicSettings: TopicSettings;
}

/** Reads the settings the services share from the environment, with the services' own defaults. */
export function readStackConfig(env: Record<string, string | undefined>): StackConfig {
  const parsed = parseConfig(StackEnv, env);
  const outbox = parsed.OUTBOX_DIR ?? join(repoRoot, 'outbox');
  return {
    brokersFromEnv: env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS.trim() !== '' ? parsed.KAFKA_BROKERS : undefined,
    databaseUrl: parsed.DATABASE_URL,
    topicPrefix: parsed.TOPIC_PREFIX,
    host: parsed.HOST,
    outboxDir: isAbsolute(outbox) ? outbox : resolve(outbox),
    topicSettings: {
      ...(parsed.TOPIC_PARTITIONS === undefined ? {} : { partitions: parsed.TOPIC_PARTITIONS }),
      ...(parsed.TOPIC_REPLICATION_FACTOR === undefined ? {} : { replicationFactor: parsed.TOPIC_REPLICATION_FACTOR }),
    },
  };
}

/** A database URL with its password masked, for printing. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The URL a browser or curl on this machine reaches a service at. */
export function serviceUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
