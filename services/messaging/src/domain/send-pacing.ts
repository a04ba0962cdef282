/**
 * The earliest instant (ms) the next send may start so that no more than `perSecond` sends
 * start per second: sends are spaced evenly, and an idle spell does not bank a burst.
 */
export function nextSendSlot(lastSlotMs: number | undefined, nowMs: number, perSecond: number): number {
  if (lastSlotMs === undefined) return nowMs;
  return Math.max(nowMs, lastSlotMs + 1000 / perSecond);
}
