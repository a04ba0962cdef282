/**
 * The provider calls one process may have open at once (`SEND_CONCURRENCY`), across every
 * partition's chunk: a slot is held from marking a key `sending` until its outcome is recorded,
 * so a crash can leave no more than this many sends doubtful.
 */
export interface SendSlots {
  /** Waits until a slot is free, then takes as many as are free, up to `wanted` (at least 1). */
  take: (wanted: number) => Promise<number>;
  /** Gives back slots taken earlier. */
  give: (count: number) => void;
}

export function createSendSlots(limit: number): SendSlots {
  let free = Math.max(1, limit);
  const waiting: (() => void)[] = [];
  return {
    take: async (wanted) => {
      while (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      const taken = Math.min(free, Math.max(1, wanted));
      free -= taken;
      return taken;
    },
    give: (count) => {
      free += count;
      for (let n = 0; n < count; n++) waiting.shift()?.();
    },
  };
}
