/**
 * The pure parts of the consumer engine's lanes: how a batch splits by key, how many chunks run
 * at once, and which offset may be committed while lanes finish out of order.
 */

/**
 * Splits records into lanes by key (the customer id), each lane in batch order, lanes in order of
 * their key's first appearance. Lanes may run side by side; a lane's records run one after
 * another, so one customer's records are handled in the order they were produced.
 */
export function lanesByKey<T extends { key: string | null }>(records: readonly T[]): T[][] {
  const lanes = new Map<string | null, T[]>();
  for (const record of records) {
    const lane = lanes.get(record.key);
    if (lane === undefined) lanes.set(record.key, [record]);
    else lane.push(record);
  }
  return [...lanes.values()];
}

/** A counting semaphore: at most `limit` holders at once, the others queue in arrival order. */
export function semaphore(limit: number): <R>(work: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    while (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * Tracks which records of a batch (by index) are done and answers the index of the last record
 * of the longest done prefix whenever it grows, null otherwise: a committed offset says every
 * record before it is done, and lanes finish out of order.
 */
export function donePrefix(size: number): (index: number) => number | null {
  const done: boolean[] = Array.from({ length: size }, () => false);
  let next = 0;
  return (index) => {
    done[index] = true;
    const before = next;
    while (next < size && done[next] === true) next += 1;
    return next > before ? next - 1 : null;
  };
}
