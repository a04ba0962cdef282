import type { Logger } from 'pino';
import type { TopicKey } from '@lifecycle/contracts';
import { startTopicConsumer, type TopicConsumerOptions } from './consumer-engine.ts';
import type { RunningConsumer } from './kafka.ts';
import type { Outbox } from './outbox.ts';

/**
 * A part of a service with a life of its own beside its HTTP app: a consumer, the outbox relay, a
 * timer, a start-up step. A service is an HTTP app plus an ordered list of these; one function
 * starts them in that order and stops them in the reverse one (see `runService`).
 */
export interface Component {
  /** Names it in logs and, when it has `ready`, as a check of `/readyz`. */
  readonly name: string;
  start(): Promise<void>;
  /** Stops it, finishing what it has in hand; a second call does nothing. */
  stop(): Promise<void>;
  /** Whether it does its job now (a consumer: it has joined its group); `/readyz` answers 503 while one says no. */
  ready?(): boolean;
}

/** An HTTP app and the components around it, built but not started. */
export interface ServiceParts<App> {
  app: App;
  /** In start-up order; shutdown runs it backwards. */
  components: readonly Component[];
}

/** `/readyz` checks, one per component that has `ready`, named after it. */
export function componentReadiness(components: readonly Component[]): Record<string, () => boolean> {
  const checks: Record<string, () => boolean> = {};
  for (const component of components) {
    const { ready } = component;
    if (ready === undefined) continue;
    if (component.name in checks) throw new Error(`two components are named "${component.name}"`);
    checks[component.name] = () => ready.call(component);
  }
  return checks;
}

/**
 * Stops components in reverse order, each even when one before it failed; rejects with the first
 * failure once all have been tried.
 */
export async function stopComponents(components: readonly Component[], logger: Logger): Promise<void> {
  let first: { err: unknown } | undefined;
  for (const component of [...components].reverse()) {
    try {
      await component.stop();
    } catch (err) {
      logger.error({ err, component: component.name }, 'component failed to stop');
      first ??= { err };
    }
  }
  if (first !== undefined) throw first.err;
}

/**
 * Starts components one after the other, in order. When one fails, those already started are
 * stopped in reverse order (a consumer that joined leaves its group at once) and the failure is
 * thrown. Resolves to the function that stops them all in reverse order.
 */
export async function startComponents(components: readonly Component[], logger: Logger): Promise<() => Promise<void>> {
  const started: Component[] = [];
  for (const component of components) {
    try {
      await component.start();
    } catch (err) {
      logger.error({ err, component: component.name }, 'component failed to start, stopping those started');
      // The start failure is what the caller needs; a failing stop is logged.
      await stopComponents(started, logger).catch(() => undefined);
      throw err;
    }
    started.push(component);
    logger.debug({ component: component.name }, 'component started');
  }
  return () => stopComponents(started, logger);
}

/** A service started in this process (tests, benchmarks): its parts, and `stop`, which stops the components in reverse order, then closes the app. */
export type InProcess<P> = P & { stop: () => Promise<void> };

/**
 * Starts a service's components in this process without listening or handling signals, for tests
 * and benchmarks that drive the app with `inject()` (or listen themselves).
 */
export async function startInProcess<P extends ServiceParts<{ close: () => PromiseLike<unknown> }>>(parts: P, logger: Logger): Promise<InProcess<P>> {
  const stopAll = await startComponents(parts.components, logger);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await stopAll();
      } finally {
        await parts.app.close();
      }
    })());
  return { ...parts, stop };
}

/**
 * Components started side by side and stopped side by side, seen from outside as one: each
 * consumer's join waits out the broker's rebalance delay, and leaving a group can take seconds.
 * Ready when all its members with `ready` are.
 */
export function componentGroup<C extends Component>(name: string, members: readonly C[]): Component & { readonly members: readonly C[] } {
  const stopAll = async (of: readonly C[]): Promise<void> => {
    const failed = (await Promise.allSettled(of.map((m) => m.stop()))).find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };
  return {
    name,
    members,
    start: async () => {
      const results = await Promise.allSettled(members.map((m) => m.start()));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed === undefined) return;
      // The start failure is the one to report; the members that did start must not stay.
      await stopAll(members.filter((_, i) => results[i]?.status === 'fulfilled')).catch(() => undefined);
      throw failed.reason;
    },
    stop: () => stopAll(members),
    ready: () => members.every((m) => m.ready?.() ?? true),
  };
}

/** A consumer as a component: `start` connects and subscribes (ready once it has joined its group), `stop` leaves the group. */
export interface ConsumerComponent extends Component, RunningConsumer {
  ready(): boolean;
}

/** Wraps a consumer's start (`startConsumer`, `startTopicConsumer`, a service's own) as a component. */
export function consumerComponent(name: string, startConsumer: () => Promise<RunningConsumer>): ConsumerComponent {
  let running: RunningConsumer | undefined;
  return {
    name,
    start: async () => {
      running ??= await startConsumer();
    },
    stop: async () => {
      const consumer = running;
      running = undefined;
      await consumer?.stop();
    },
    ready: () => running?.ready() ?? false,
  };
}

/** A `startTopicConsumer` consumer as a component named after its group. */
export function topicConsumerComponent<K extends TopicKey>(opts: TopicConsumerOptions<K>): ConsumerComponent {
  return consumerComponent(opts.groupId, () => startTopicConsumer(opts));
}

/**
 * The outbox relay as a component. Put it before the components that enqueue: stopped after
 * them, it publishes what they enqueued last.
 */
export function outboxRelay(outbox: Outbox): Component {
  return {
    name: 'outbox relay',
    start: async () => outbox.start(),
    stop: () => outbox.stop(),
  };
}

/** Work done once while the service starts (a reconciliation), before the components after it. */
export function startStep(name: string, run: () => Promise<unknown>): Component {
  return {
    name,
    start: async () => {
      await run();
    },
    stop: async () => undefined,
  };
}

export interface IntervalTaskOptions {
  name: string;
  /** Time between the starts of two runs; a run still going when the next is due makes it skip. */
  everyMs: number;
  logger: Logger;
  /** One run; it logs what it did. A failure is logged and the task runs again at the next interval. */
  run: () => Promise<void>;
}

/**
 * A periodic task (a purge) as a component: it runs once when started (without holding up the
 * start) and then every `everyMs`; `stop` clears the timer and waits for a run in progress.
 */
export function intervalTask(opts: IntervalTaskOptions): Component {
  const { name, logger } = opts;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = (): void => {
    if (running !== undefined) return;
    running = opts
      .run()
      .catch((err: unknown) => logger.error({ err, task: name }, 'periodic task failed'))
      .finally(() => {
        running = undefined;
      });
  };
  return {
    name,
    start: async () => {
      if (timer !== undefined) return;
      tick();
      timer = setInterval(tick, opts.everyMs);
      timer.unref();
    },
    stop: async () => {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
