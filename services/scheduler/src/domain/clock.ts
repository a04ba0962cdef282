/** The one source of "now" for time-driven work. */
export interface Clock {
  now: () => Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until told the time: for tests and demos of "seven days later". */
export interface SimulatedClock extends Clock {
  /** Moves the clock; time never runs backwards, so an earlier instant is refused. */
  set: (instant: Date) => { ok: true } | { ok: false; reason: string };
}

export function simulatedClock(start: Date): SimulatedClock {
  let current = start;
  return {
    now: () => current,
    set: (instant) => {
      if (instant.getTime() < current.getTime()) {
        return { ok: false, reason: `the clock is at ${current.toISOString()} and does not run backwards` };
      }
      current = instant;
      return { ok: true };
    },
  };
}
