import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { componentGroup, componentReadiness, consumerComponent, intervalTask, startComponents, startInProcess, startStep, type Component } from './components.ts';
import type { RunningConsumer } from './kafka.ts';

const LogLine = z.looseObject({ msg: z.string(), component: z.string().optional(), task: z.string().optional() });

function captureLogger() {
  const lines: z.infer<typeof LogLine>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(LogLine.parse(JSON.parse(line))) });
  return { logger, lines };
}

/** A component that records its starts and stops in `journal`; `failStart` makes its start reject. */
function fake(name: string, journal: string[], opts: { failStart?: boolean; failStop?: boolean; ready?: () => boolean } = {}): Component {
  return {
    name,
    start: async () => {
      await Promise.resolve();
      if (opts.failStart === true) {
        journal.push(`${name} failed to start`);
        throw new Error(`${name} cannot start`);
      }
      journal.push(`start ${name}`);
    },
    stop: async () => {
      await Promise.resolve();
      journal.push(`stop ${name}`);
      if (opts.failStop === true) throw new Error(`${name} cannot stop`);
    },
    ...(opts.ready === undefined ? {} : { ready: opts.ready }),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('startComponents', () => {
  it('starts the components in the given order and stops them in the reverse one', async () => {
    const journal: string[] = [];
    const stop = await startComponents([fake('relay', journal), fake('consumers', journal), fake('purge', journal)], captureLogger().logger);
    expect(journal).toEqual(['start relay', 'start consumers', 'start purge']);
    await stop();
    expect(journal.slice(3)).toEqual(['stop purge', 'stop consumers', 'stop relay']);
  });

  it('when a start fails, stops those already started in reverse order, starts none after it, and rejects with the failure', async () => {
    const journal: string[] = [];
    const { logger, lines } = captureLogger();
    const starting = startComponents([fake('relay', journal), fake('reconcile', journal), fake('consumers', journal, { failStart: true }), fake('runner', journal)], logger);
    await expect(starting).rejects.toThrow('consumers cannot start');
    expect(journal).toEqual(['start relay', 'start reconcile', 'consumers failed to start', 'stop reconcile', 'stop relay']);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'component failed to start, stopping those started', component: 'consumers' }));
  });

  it('stops every component even when one fails to stop, and then rejects with that failure', async () => {
    const journal: string[] = [];
    const { logger, lines } = captureLogger();
    const stop = await startComponents([fake('relay', journal), fake('consumers', journal, { failStop: true }), fake('purge', journal)], logger);
    await expect(stop()).rejects.toThrow('consumers cannot stop');
    expect(journal.slice(3)).toEqual(['stop purge', 'stop consumers', 'stop relay']);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'component failed to stop', component: 'consumers' }));
  });
});

describe('componentReadiness', () => {
  it('gives one check per component that has readiness, following it as it changes', () => {
    let joined = false;
    const checks = componentReadiness([fake('relay', []), fake('consumers', [], { ready: () => joined }), startStep('reconcile', async () => undefined)]);
    expect(Object.keys(checks)).toEqual(['consumers']);
    expect(checks.consumers?.()).toBe(false);
    joined = true;
    expect(checks.consumers?.()).toBe(true);
  });

  it('refuses two components of the same name, whose checks would hide each other', () => {
    expect(() => componentReadiness([fake('consumers', [], { ready: () => true }), fake('consumers', [], { ready: () => true })])).toThrow('two components are named "consumers"');
  });
});

describe('componentGroup', () => {
  it('starts its members side by side, is ready only when all are, and stops them all', async () => {
    const journal: string[] = [];
    const ready = { a: false, b: false };
    const group = componentGroup('consumers', [fake('a', journal, { ready: () => ready.a }), fake('b', journal, { ready: () => ready.b })]);
    await group.start();
    expect(journal.toSorted()).toEqual(['start a', 'start b']);
    ready.a = true;
    expect(group.ready?.()).toBe(false);
    ready.b = true;
    expect(group.ready?.()).toBe(true);
    await group.stop();
    expect(journal.slice(2).toSorted()).toEqual(['stop a', 'stop b']);
  });

  it('when a member fails to start, stops the members that started and rejects', async () => {
    const journal: string[] = [];
    const group = componentGroup('consumers', [fake('a', journal), fake('b', journal, { failStart: true }), fake('c', journal)]);
    await expect(group.start()).rejects.toThrow('b cannot start');
    expect(journal.filter((line) => line.startsWith('stop')).toSorted()).toEqual(['stop a', 'stop c']);
  });
});

describe('consumerComponent', () => {
  it('is ready only between a start whose consumer has joined and its stop, which leaves the group', async () => {
    let joined = false;
    let stopped = 0;
    const consumer: RunningConsumer = { ready: () => joined, stop: async () => void stopped++ };
    const component = consumerComponent('lifecycle-test', async () => consumer);
    expect(component.ready()).toBe(false);
    await component.start();
    expect(component.ready()).toBe(false);
    joined = true;
    expect(component.ready()).toBe(true);
    await component.stop();
    expect(stopped).toBe(1);
    expect(component.ready()).toBe(false);
    await component.stop();
    expect(stopped).toBe(1);
  });
});

describe('intervalTask', () => {
  it('runs once at start and then every interval, logs a failed run and runs again at the next', async () => {
    vi.useFakeTimers();
    const { logger, lines } = captureLogger();
    const outcomes = ['ok', 'fail', 'ok'];
    const runs: string[] = [];
    const task = intervalTask({
      name: 'dedupe purge',
      everyMs: 60_000,
      logger,
      run: async () => {
        const outcome = outcomes[runs.length] ?? 'ok';
        runs.push(outcome);
        if (outcome === 'fail') throw new Error('database unreachable');
      },
    });
    await task.start();
    expect(runs).toEqual(['ok']);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual(['ok', 'fail']);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'periodic task failed', task: 'dedupe purge' }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual(['ok', 'fail', 'ok']);
    await task.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(runs).toHaveLength(3);
  });

  it('waits for a run in progress when stopped, and skips an interval while a run is still going', async () => {
    vi.useFakeTimers();
    let finish: () => void = () => undefined;
    let runs = 0;
    const task = intervalTask({
      name: 'purge',
      everyMs: 1_000,
      logger: captureLogger().logger,
      run: () => {
        runs++;
        return new Promise<void>((resolve) => (finish = resolve));
      },
    });
    await task.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
  });
});

describe('startInProcess', () => {
  it('starts the components, and its stop stops them in reverse order before closing the app, once', async () => {
    const journal: string[] = [];
    const app = { close: async () => void journal.push('close app') };
    const service = await startInProcess({ app, components: [fake('relay', journal), fake('consumers', journal)] }, captureLogger().logger);
    expect(journal).toEqual(['start relay', 'start consumers']);
    await Promise.all([service.stop(), service.stop()]);
    expect(journal.slice(2)).toEqual(['stop consumers', 'stop relay', 'close app']);
  });
});
