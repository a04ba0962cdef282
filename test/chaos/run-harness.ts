/**
 * How the chaos run and the end-to-end bench start and end alike: their common flags, reading a
 * number flag, Ctrl-C, and the clean-up that runs whatever happened.
 */

export type Say = (line: string) => void;

/** The flags both runs take (each documents them in its usage). */
export const sharedRunOptions = {
  'provider-latency': { type: 'string', default: '100' },
  'log-level': { type: 'string', default: 'info' },
  keep: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** `parseArgs` options for flags that take a value, from their defaults: `{ rate: '10' }`. */
export function valueFlags<T extends Record<string, string>>(defaults: T): { [K in keyof T]: { type: 'string'; default: string } } {
  const options: Record<string, { type: 'string'; default: string }> = {};
  for (const [name, value] of Object.entries(defaults)) options[name] = { type: 'string', default: value };
  return options as { [K in keyof T]: { type: 'string'; default: string } };
}

/** A reader of number flags: one that is not a number ≥ `min` ends the run with the usage (exit 2). */
export function numberFlag(usage: string): (name: string, text: string | undefined, min: number) => number {
  return (name, text, min) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) {
      process.stderr.write(`--${name} must be a number ≥ ${min}, got ${text}\n${usage}\n`);
      process.exit(2);
    }
    return value;
  };
}

/**
 * A first Ctrl-C (or SIGTERM, SIGHUP) aborts the returned controller, so the run stops and
 * removes what it started; a second kills what it started at once. `killNow` also runs on exit.
 */
export function handleInterrupts(say: Say, killNow: () => void): AbortController {
  const stop = new AbortController();
  let interrupted = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted += 1;
    if (interrupted === 1) {
      say(`${signal}: stopping the run and cleaning up (again to kill everything at once)`);
      stop.abort();
      return;
    }
    killNow();
    process.exit(130);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  process.on('exit', killNow);
  return stop;
}

/** Runs each clean-up step in order; one that fails is reported and the others still run. */
export async function cleanUpSteps(steps: readonly (readonly [string, () => Promise<unknown>])[], say: Say): Promise<void> {
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      say(`cleaning up the ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * Runs `main`, then `cleanUp` with its exit code (130 when interrupted, 1 when it threw), then
 * prints `last()` (the report, so that its final line is the run's) and exits with the code.
 */
export async function runThenExit(o: { main: () => Promise<number>; cleanUp: (code: number) => Promise<void>; stop: AbortController; say: Say; last?: () => string | undefined }): Promise<never> {
  let code = 1;
  try {
    code = await o.main();
  } catch (err) {
    if (o.stop.signal.aborted) o.say('interrupted');
    else o.say(`the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = o.stop.signal.aborted ? 130 : 1;
  } finally {
    await o.cleanUp(code);
  }
  const last = o.last?.();
  if (last !== undefined) process.stdout.write(last);
  process.exit(code);
}
