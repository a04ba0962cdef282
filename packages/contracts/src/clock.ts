import { z } from 'zod';
import { envelope } from './envelope.ts';

/**
 * The system's simulated time (`CLOCK=simulated`): the scheduler owns the clock and publishes each
 * move on the compacted `system.clock` topic, keyed `clock`, so its latest value is always there
 * for a service that starts. Every other service follows it and reads "now" from it.
 */
export const ClockSet = envelope(
  'clock.set',
  z.object({
    /** The simulated instant from now on; it never runs backwards. */
    now: z.iso.datetime({ offset: true }),
  }),
);
export type ClockSet = z.infer<typeof ClockSet>;

/** The key and customer id of every clock record: one key, so compaction keeps only the latest. */
export const CLOCK_KEY = 'clock';

export function clockSet(now: Date, cause: string): ClockSet {
  const at = now.toISOString();
  return { id: `clock@${at}`, type: 'clock.set', version: 1, occurredAt: at, customerId: CLOCK_KEY, causationId: cause, payload: { now: at } };
}
