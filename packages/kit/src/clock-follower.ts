import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { ClockSet, topicName } from '@lifecycle/contracts';
import type { Component } from './components.ts';
import { groupConsumer } from './kafka-clients.ts';
import { topicOffsets } from './topics.ts';
import type { Runtime } from './runtime.ts';

/** A service's view of the system's simulated time, as the scheduler last published it. */
export interface FollowedClock extends Component {
  /** The latest instant published; before any, the instant the follower was given to start at. */
  now(): Date;
  /** Resolves once the clock has reached `instant` (or at once if it has); rejects after `timeoutMs`. */
  reached(instant: Date, timeoutMs?: number): Promise<void>;
}

export interface FollowClockOptions {
  kafka: Kafka;
  prefix: string;
  logger: Logger;
  /** What `now()` says until the first record arrives (`CLOCK_START`, or the start-up time). */
  start: Date;
  /** How long start-up waits to read the topic up to its end before it fails. */
  catchUpTimeoutMs?: number;
}

/**
 * Follows the compacted `system.clock` topic: reads it from the beginning with a group of its own
 * (each process must see every record, and nothing is committed, so the group leaves nothing
 * behind), and starts only once it has read up to the end the topic had at start-up, so a service
 * never stamps an event with a time the system has left behind. The published clock wins over
 * the start instant, even when earlier (a simulated year may lie in the past). Time never runs
 * backwards: an instant earlier than one published before (an old record read again) is ignored,
 * and so is a record that is not a clock record, with a warning.
 */
export function followClock(opts: FollowClockOptions): FollowedClock {
  const topic = topicName(opts.prefix, 'clock');
  const log = opts.logger.child({ component: 'clock' });
  // The latest instant published; until one is, `now()` says the start instant, which never
  // holds back a published one (a scheduler may start its clock before this process's start).
  let published: Date | null = null;
  const current = (): Date => published ?? opts.start;
  let caughtUp = false;
  let waiters: { instant: number; resolve: () => void }[] = [];
  const consumer = groupConsumer(opts.kafka, { groupId: `${opts.prefix}clock-follower-${randomUUID()}` });

  const advance = (instant: Date): void => {
    if (published !== null && instant.getTime() <= published.getTime()) return;
    published = instant;
    const due = waiters.filter((w) => w.instant <= instant.getTime());
    waiters = waiters.filter((w) => w.instant > instant.getTime());
    for (const w of due) w.resolve();
  };

  return {
    name: 'clock',
    now: current,
    ready: () => caughtUp,
    reached: (instant, timeoutMs = 10_000) => {
      if (instant.getTime() <= current().getTime()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(new Error(`the clock did not reach ${instant.toISOString()} within ${timeoutMs} ms (it is at ${current().toISOString()})`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ instant: instant.getTime(), resolve: done });
      });
    },
    async start() {
      const admin = opts.kafka.admin();
      await admin.connect();
      const ends = await topicOffsets(admin, topic).finally(() => admin.disconnect());
      // Offsets still to read per partition before the clock is what the system says.
      const pending = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
      let markCaughtUp: () => void = () => {};
      const caughtUpNow = new Promise<void>((resolve) => {
        markCaughtUp = resolve;
      });
      const check = (): void => {
        if (pending.size > 0 || caughtUp) return;
        caughtUp = true;
        markCaughtUp();
      };
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const parsed = ClockSet.safeParse(message.value === null ? null : safeJson(message.value.toString('utf8')));
          if (parsed.success) advance(new Date(parsed.data.payload.now));
          else log.warn({ partition, offset: message.offset }, 'record on the clock topic is not a clock record, ignored');
          const end = pending.get(partition);
          if (end !== undefined && Number(message.offset) + 1 >= end) pending.delete(partition);
          check();
        },
      });
      check();
      const timeoutMs = opts.catchUpTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`could not read ${topic} to its end within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([caughtUpNow, timedOut]);
      } finally {
        clearTimeout(timer);
      }
      log.info({ now: current().toISOString() }, 'following the simulated clock');
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The time a service other than the scheduler reads: the machine's, or with `CLOCK=simulated`
 * the scheduler's as last published, with the follower as a component to start first (so the
 * service's consumers and HTTP API never see a time the system has left behind).
 */
export function serviceClock(runtime: Pick<Runtime, 'kafka' | 'prefix' | 'logger'>, mode: 'system' | 'simulated'): { now: () => Date; components: Component[] } {
  if (mode === 'system') return { now: () => new Date(), components: [] };
  const clock = followClock({ kafka: runtime.kafka, prefix: runtime.prefix, logger: runtime.logger, start: new Date() });
  return { now: () => clock.now(), components: [clock] };
}
