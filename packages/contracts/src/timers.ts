import { z } from 'zod';
import { envelope } from './envelope.ts';

/**
 * Generic timers: a service asks the scheduler to tell it when a moment has come, so the whole
 * system runs on the scheduler's one clock. Requesting a timer id again moves it (the latest
 * request wins); a fired timer comes back on `scheduler.timers.fired`.
 */
export const TimerRequested = envelope(
  'timer.requested',
  z.object({
    /** Stable per purpose, e.g. `classifier:silence:<customerId>`; a new request replaces the old. */
    timerId: z.string().min(1).max(300),
    /** The service that gets the fired timer; it filters `scheduler.timers.fired` on this. */
    owner: z.string().min(1),
    fireAt: z.iso.datetime({ offset: true }),
    data: z.record(z.string(), z.unknown()).default({}),
  }),
);
export type TimerRequested = z.infer<typeof TimerRequested>;

export const TimerFired = envelope(
  'timer.fired',
  z.object({
    timerId: z.string().min(1),
    owner: z.string().min(1),
    fireAt: z.iso.datetime({ offset: true }),
    data: z.record(z.string(), z.unknown()).default({}),
  }),
);
export type TimerFired = z.infer<typeof TimerFired>;
