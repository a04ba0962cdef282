/** The one source of "now" for time-driven work. */
export interface Clock {
  now: () => Date;
}

/**
 * How far due jobs may fire, and as of when each is judged. With a clock that runs (or moves
 * with `set`), everything due by now fires, judged now. During a walk nothing fires until it is
 * released; then each job is judged as of the instant it came due.
 */
export interface FiringHorizon {
  /** Jobs and timers due at or before this instant may fire. */
  until: Date;
  /** Judge each job as of its due instant (a walked clock) rather than the clock's now. */
  asOfDue: boolean;
}

export const systemClock: Clock = { now: () => new Date() };

/** Where firing stands on a clock that only runs: everything due by now, judged now. */
export const firingNow = (clock: Clock): FiringHorizon => ({ until: clock.now(), asOfDue: false });

type Move = { ok: true } | { ok: false; reason: string };

/** A clock that stands still until told the time: for tests and demos of "seven days later". */
export interface SimulatedClock extends Clock {
  /** Moves the clock; time never runs backwards, so an earlier instant is refused. Due jobs fire judged at the new time. */
  set: (instant: Date) => Move;
  /**
   * Moves the clock as a walk: nothing fires until `release` (not even what was due before the
   * walk and planned during it, so the order of a step's inputs cannot change a decision), and
   * then each job is judged as of the instant it came due, as a clock walking there second by
   * second would have judged it. Lets a driver first send what happened on the way, then fire.
   */
  walk: (instant: Date) => Move;
  /** Ends the hold of a walk: everything due by now may fire, each as of its due instant. */
  release: () => void;
  firing: () => FiringHorizon;
  /** The instant firing is held at during a walk; null when nothing is held. */
  heldAt: () => Date | null;
}

export function simulatedClock(start: Date): SimulatedClock {
  let current = start;
  let held: Date | null = null;
  let asOfDue = false;
  const move = (instant: Date): Move => {
    if (instant.getTime() < current.getTime()) return { ok: false, reason: `the clock is at ${current.toISOString()} and does not run backwards` };
    current = instant;
    return { ok: true };
  };
  return {
    now: () => current,
    set: (instant) => {
      const moved = move(instant);
      if (moved.ok) {
        held = null;
        asOfDue = false;
      }
      return moved;
    },
    walk: (instant) => {
      const from = current;
      const moved = move(instant);
      if (moved.ok) {
        // A second walk before the release keeps the first hold: nothing after it has fired yet.
        held ??= from;
        asOfDue = true;
      }
      return moved;
    },
    release: () => {
      held = null;
    },
    // Held: nothing is due before the epoch, so nothing is claimed.
    firing: () => ({ until: held === null ? current : new Date(0), asOfDue }),
    heldAt: () => held,
  };
}
