const DAY_MS = 24 * 60 * 60 * 1000;

/** The instant before which a remembered messageId is forgotten: a redelivery after it is new again. */
export function dedupeCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * DAY_MS);
}
