import { nextSendSlot } from './domain/send-pacing.ts';

export interface SendPacerOptions {
  /** Provider calls that may start per second, across all parallel sends of this process. */
  perSecond: number;
  nowMs: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Resolves when the caller may make its provider call; calls are spaced evenly. */
export function createSendPacer(opts: SendPacerOptions): () => Promise<void> {
  let last: number | undefined;
  return async () => {
    // The slot is taken synchronously, so parallel callers queue up one interval apart.
    const slot = nextSendSlot(last, opts.nowMs(), opts.perSecond);
    last = slot;
    const wait = slot - opts.nowMs();
    if (wait > 0) await opts.sleep(wait);
  };
}
