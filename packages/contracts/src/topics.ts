import type { z } from 'zod';
import { SegmentCall } from './segment.ts';
import { LifecycleEvent, MessageEvent, MessageRequested, StageChanged } from './messages.ts';
import { TimerFired, TimerRequested } from './timers.ts';
import { ConsentChanged } from './consent.ts';
import { ClockSet } from './clock.ts';
import { PrivacyCompleted, PrivacyRequested } from './privacy.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TopicSpec<S extends z.ZodType = z.ZodType> {
  /** Name before the deployment's prefix is applied. */
  name: string;
  schema: S;
  /** Partitions at creation; a customer's records stay in one, so this bounds a consumer group's parallelism. */
  partitions: number;
  /** Copies of each partition; unset: min(3, brokers in the cluster), decided when the topic is created. */
  replicationFactor?: number;
  retentionMs: number;
  /** Consumed topics get a `.dlq` companion. */
  deadLetter: boolean;
  /** Compacted (`cleanup.policy=compact`): the latest record per key stays, whatever its age. */
  compact?: boolean;
}

/** Partitions of a topic unless the catalog or `TOPIC_PARTITIONS` says otherwise. */
export const DEFAULT_PARTITIONS = 3;
/** Dead letters are few and read by people: one partition keeps them in the order they failed. */
export const DEAD_LETTER_PARTITIONS = 1;

function topic<S extends z.ZodType>(name: string, schema: S, retentionDays: number, deadLetter: boolean): TopicSpec<S> {
  return { name, schema, partitions: DEFAULT_PARTITIONS, retentionMs: retentionDays * DAY_MS, deadLetter };
}

/** What each topic carries once parsed. */
export interface TopicValues {
  commerceEvents: SegmentCall;
  lifecycleEvents: LifecycleEvent;
  stageChanges: StageChanged;
  messagesRequested: MessageRequested;
  messageEvents: MessageEvent;
  timersRequested: TimerRequested;
  timersFired: TimerFired;
  consentChanges: ConsentChanged;
  clock: ClockSet;
  privacyRequests: PrivacyRequested;
  privacyResponses: PrivacyCompleted;
}
export type TopicKey = keyof TopicValues;
export type TopicValue<K extends TopicKey> = TopicValues[K];

/** Every topic of the system: the single source of truth for names, schemas and settings. */
export const topics: { readonly [K in TopicKey]: TopicSpec<z.ZodType<TopicValues[K]>> } = {
  commerceEvents: topic('commerce.events', SegmentCall, 7, true),
  lifecycleEvents: topic('lifecycle.events', LifecycleEvent, 365 * 3, true),
  stageChanges: topic('lifecycle.stage-changes', StageChanged, 30, true),
  messagesRequested: topic('messages.requested', MessageRequested, 30, true),
  messageEvents: topic('messages.events', MessageEvent, 30, true),
  timersRequested: topic('scheduler.timers.requested', TimerRequested, 30, true),
  timersFired: topic('scheduler.timers.fired', TimerFired, 30, true),
  // Kept as long as lifecycle.events: a classifier rebuild replays both to the same profiles.
  consentChanges: topic('consent.changes', ConsentChanged, 365 * 3, true),
  // One record that matters (the latest); followers read it from the start, so no dead letters.
  clock: { ...topic('system.clock', ClockSet, 365 * 3, false), partitions: 1, compact: true },
  // Requests name only a customer id; responses to an export carry personal data, so they go after a week.
  privacyRequests: topic('privacy.requests', PrivacyRequested, 30, true),
  privacyResponses: topic('privacy.responses', PrivacyCompleted, 7, true),
};

export function schemaOf<K extends TopicKey>(key: K): z.ZodType<TopicValue<K>> {
  return topics[key].schema;
}

export const topicKeys: readonly TopicKey[] = ['commerceEvents', 'lifecycleEvents', 'stageChanges', 'messagesRequested', 'messageEvents', 'timersRequested', 'timersFired', 'consentChanges', 'clock', 'privacyRequests', 'privacyResponses'];

export const DEAD_LETTER_RETENTION_MS = 30 * DAY_MS;

/** The real topic name for a deployment (`TOPIC_PREFIX` isolates test runs and tenants). */
export function topicName(prefix: string, key: TopicKey): string {
  return prefix + topics[key].name;
}

export function deadLetterTopicName(prefix: string, key: TopicKey): string {
  return `${topicName(prefix, key)}.dlq`;
}

export interface DeclaredTopic {
  /** The real name, prefix included. */
  name: string;
  /** The name in the catalog, without the prefix (`commerce.events`, `commerce.events.dlq`). */
  catalogName: string;
  partitions: number;
  /** Unset: the cluster's default, min(3, brokers). */
  replicationFactor?: number;
  retentionMs: number;
  deadLetter: boolean;
  compact?: boolean;
}

/** Every topic to create, dead-letter topics included. */
export function declaredTopics(prefix: string): DeclaredTopic[] {
  return topicKeys.flatMap((key) => {
    const spec = topics[key];
    const name = topicName(prefix, key);
    const replication = spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor };
    const main: DeclaredTopic = { name, catalogName: spec.name, partitions: spec.partitions, ...replication, retentionMs: spec.retentionMs, deadLetter: false, ...(spec.compact === true ? { compact: true } : {}) };
    if (!spec.deadLetter) return [main];
    const dlq: DeclaredTopic = { name: `${name}.dlq`, catalogName: `${spec.name}.dlq`, partitions: DEAD_LETTER_PARTITIONS, ...replication, retentionMs: DEAD_LETTER_RETENTION_MS, deadLetter: true };
    return [main, dlq];
  });
}
