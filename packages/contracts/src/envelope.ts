import { z } from 'zod';

/**
 * The envelope every internal topic carries. `id` is deterministic for a given cause, so a
 * consumer deduplicates on it and a redelivered or re-produced record changes nothing.
 */
export function envelope<const T extends string, P extends z.ZodType>(type: T, payload: P) {
  return z.object({
    id: z.string().min(1),
    type: z.literal(type),
    version: z.literal(1),
    occurredAt: z.iso.datetime({ offset: true }),
    customerId: z.string().min(1),
    /** The id of the record that caused this one. */
    causationId: z.string().min(1),
    payload,
  });
}
