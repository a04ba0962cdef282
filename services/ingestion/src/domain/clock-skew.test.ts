import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_TOLERANCE_MS, eventTime } from './clock-skew.ts';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

describe('eventTime', () => {
  const receivedAt = at('2026-11-23T10:00:00.000Z');

  it('moves the timestamp of a client whose clock runs two hours fast back by the skew', () => {
    // By the client's clock: the event at 11:59, the send at 12:00. The server received it at 10:00.
    const time = eventTime({ timestamp: at('2026-11-23T11:59:00Z'), sentAt: at('2026-11-23T12:00:00Z'), receivedAt });
    expect(time).toEqual({ timestamp: at('2026-11-23T09:59:00Z'), skewMs: 2 * HOUR, corrected: true });
  });

  it('moves the timestamp of a client whose clock runs behind forward, as far as the receipt at most', () => {
    const slow = eventTime({ timestamp: at('2026-11-23T06:30:00Z'), sentAt: at('2026-11-23T07:00:00Z'), receivedAt });
    expect(slow).toEqual({ timestamp: at('2026-11-23T09:30:00Z'), skewMs: -3 * HOUR, corrected: true });
  });

  it('keeps the time between the event and the send: an event queued offline for hours stays hours old', () => {
    const queued = eventTime({ timestamp: at('2026-11-23T14:00:00Z'), sentAt: at('2026-11-23T20:00:00Z'), receivedAt: at('2026-11-23T18:00:00Z') });
    expect(queued.timestamp).toEqual(at('2026-11-23T12:00:00Z'));
  });

  it('keeps the timestamp of a clock within the tolerance, transit time included', () => {
    const close = eventTime({ timestamp: at('2026-11-23T09:58:00Z'), sentAt: at('2026-11-23T09:59:52Z'), receivedAt });
    expect(close).toEqual({ timestamp: at('2026-11-23T09:58:00Z'), skewMs: -8_000, corrected: false });
  });

  it('corrects from just over the tolerance, either way', () => {
    const edge = (skewMs: number) => eventTime({ timestamp: at('2026-11-23T09:00:00Z'), sentAt: new Date(receivedAt.getTime() + skewMs), receivedAt });
    expect(edge(CLOCK_SKEW_TOLERANCE_MS).corrected).toBe(false);
    expect(edge(-CLOCK_SKEW_TOLERANCE_MS).corrected).toBe(false);
    expect(edge(CLOCK_SKEW_TOLERANCE_MS + 1).timestamp).toEqual(at('2026-11-23T08:59:49.999Z'));
    expect(edge(-CLOCK_SKEW_TOLERANCE_MS - 1).timestamp).toEqual(at('2026-11-23T09:00:10.001Z'));
    expect(eventTime({ timestamp: at('2026-11-23T09:00:00Z'), sentAt: at('2026-11-23T09:59:00Z'), receivedAt }, 120_000).corrected).toBe(false);
  });

  it('keeps the timestamp when the call has no sentAt, since the skew is unknown', () => {
    expect(eventTime({ timestamp: at('2024-03-01T08:00:00Z'), sentAt: null, receivedAt })).toEqual({ timestamp: at('2024-03-01T08:00:00Z'), skewMs: null, corrected: false });
  });

  it('never puts an event after its receipt: a fast clock without sentAt, or a timestamp after sentAt', () => {
    expect(eventTime({ timestamp: at('2026-11-23T12:00:00Z'), sentAt: null, receivedAt })).toEqual({ timestamp: receivedAt, skewMs: null, corrected: true });
    // Within the tolerance, but the timestamp is still ahead of the server's clock.
    expect(eventTime({ timestamp: at('2026-11-23T10:00:05Z'), sentAt: at('2026-11-23T10:00:06Z'), receivedAt }).timestamp).toEqual(receivedAt);
    // Two hours fast, and the event stamped a minute after the send: corrected, it would be a minute after the receipt.
    expect(eventTime({ timestamp: at('2026-11-23T12:01:00Z'), sentAt: at('2026-11-23T12:00:00Z'), receivedAt }).timestamp).toEqual(receivedAt);
  });
});
