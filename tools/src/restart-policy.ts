import { constants } from 'node:os';

export interface RestartPolicy {
  /** The wait before the first restart; doubled for each crash that follows soon after. */
  initialDelayMs: number;
  /** The longest wait. */
  maxDelayMs: number;
  /** A run at least this long counts as healthy: the next crash waits `initialDelayMs` again. */
  resetAfterMs: number;
}

/** 1 s, 2 s, 4 s … up to 30 s; a service that ran for a minute starts over at 1 s. */
export const defaultRestartPolicy: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/** Exit code of a service whose configuration is wrong (`runMain`): restarting cannot help. */
export const CONFIG_ERROR_EXIT_CODE = 2;

/**
 * Crashes in a row, from the length of the run that just ended and the count before it: a short
 * run adds one, a run of `resetAfterMs` or more starts the count again.
 */
export function crashesInARow(previous: number, ranMs: number, policy: RestartPolicy): number {
  return ranMs >= policy.resetAfterMs ? 1 : previous + 1;
}

/** The wait before restarting after the `crashes`-th crash in a row (from 1). */
export function restartDelayMs(crashes: number, policy: RestartPolicy): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, Math.min(crashes - 1, 30)));
}

/** How a process ended, as a shell says it: a signal is 128 + its number (SIGKILL: 137). */
export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  if (exit.signal !== null) {
    const number = constants.signals[exit.signal];
    return `code ${128 + number} (${exit.signal})`;
  }
  return `code ${exit.code ?? '?'}`;
}

/** A delay in seconds, as the combined log shows it. */
export function formatDelay(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
