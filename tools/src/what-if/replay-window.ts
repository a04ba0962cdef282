/** The window a what-if replays and the instants its clock walks through (pure). */

const DAY_MS = 86_400_000;

export interface ReplayWindow {
  from: Date;
  to: Date;
}

/**
 * `--from` / `--to` as given, defaulting to the live clock's now and 28 days before `--to`.
 * Answers a usage mistake as a string.
 */
export function replayWindow(given: { from?: string | undefined; to?: string | undefined }, liveNow: Date): ReplayWindow | string {
  const parse = (name: string, text: string): Date | string => {
    const t = Date.parse(text);
    return Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(text) ? `--${name} takes an ISO 8601 instant such as 2026-11-01T00:00:00Z, not ${text}` : new Date(t);
  };
  const to = given.to === undefined ? liveNow : parse('to', given.to);
  if (typeof to === 'string') return to;
  const from = given.from === undefined ? new Date(to.getTime() - 28 * DAY_MS) : parse('from', given.from);
  if (typeof from === 'string') return from;
  if (from.getTime() >= to.getTime()) return `--from (${from.toISOString()}) must be before --to (${to.toISOString()})`;
  return { from, to };
}

/**
 * The instants a replay's clock walks to: one each `stepMs` after `from`, the last exactly `to`,
 * and one just before each of `splitBefore` inside the window. A step fires what came due in it
 * only after its records are in, judging consent as it then stands; splitting before a consent
 * change fires the jobs due earlier that day before the change goes in.
 */
export function walkSteps(window: ReplayWindow, stepMs = DAY_MS, splitBefore: readonly number[] = []): Date[] {
  const steps = new Set<number>([window.to.getTime()]);
  for (let t = window.from.getTime() + stepMs; t < window.to.getTime(); t += stepMs) steps.add(t);
  for (const t of splitBefore) if (t - 1 > window.from.getTime() && t - 1 < window.to.getTime()) steps.add(t - 1);
  return [...steps].sort((a, b) => a - b).map((t) => new Date(t));
}

/** The records due by each step: those at or before it and after the step before (the first step takes all earlier ones too). */
export function dueBySteps<T>(items: readonly T[], instantOf: (item: T) => number, steps: readonly Date[]): T[][] {
  const ordered = [...items].sort((a, b) => instantOf(a) - instantOf(b));
  const batches: T[][] = steps.map(() => []);
  let step = 0;
  for (const item of ordered) {
    while (step < steps.length && instantOf(item) > (steps[step]?.getTime() ?? Infinity)) step++;
    // After the last step: outside the window, not replayed.
    if (step === steps.length) break;
    batches[step]?.push(item);
  }
  return batches;
}
