import { describe, expect, it } from 'vitest';
import { compareReplays, formatReport, isoWeek, subtract, type ReplayOutcome } from './report.ts';

describe('ISO weeks', () => {
  it('start on Monday, in UTC', () => {
    expect(isoWeek('2026-12-06T23:59:59.999Z')).toBe('2026-W49');
    expect(isoWeek('2026-12-07T00:00:00.000Z')).toBe('2026-W50');
  });

  it('belong to the year of their Thursday at the turn of a year', () => {
    expect(isoWeek('2026-12-31T12:00:00Z')).toBe('2026-W53');
    expect(isoWeek('2027-01-03T12:00:00Z')).toBe('2026-W53');
    expect(isoWeek('2027-01-04T00:00:00Z')).toBe('2027-W01');
    expect(isoWeek('2024-12-30T00:00:00Z')).toBe('2025-W01');
  });
});

describe('comparing the candidate replay with the live one', () => {
  const live: ReplayOutcome = {
    campaigns: [
      { id: 'thanks', enabled: true },
      { id: 'review', enabled: true },
    ],
    sent: [
      { campaignId: 'thanks', customerId: 'a', at: '2026-12-01T12:00:00.000Z' },
      { campaignId: 'thanks', customerId: 'b', at: '2026-12-08T12:00:00.000Z' },
      { campaignId: 'review', customerId: 'a', at: '2026-12-03T10:00:00.000Z' },
    ],
    skipped: { review: { unsubscribed: 2, stale: 1 } },
    pending: {},
  };
  const candidate: ReplayOutcome = {
    campaigns: [
      { id: 'thanks', enabled: true },
      { id: 'review', enabled: true },
      { id: 'follow-up', enabled: true },
    ],
    sent: [
      { campaignId: 'thanks', customerId: 'b', at: '2026-12-08T12:00:00.000Z' },
      { campaignId: 'thanks', customerId: 'a', at: '2026-12-01T13:00:00.000Z' },
      { campaignId: 'review', customerId: 'a', at: '2026-12-03T10:00:00.000Z' },
      { campaignId: 'follow-up', customerId: 'a', at: '2026-12-09T10:00:00.000Z' },
    ],
    skipped: { review: { unsubscribed: 2, stale: 1 }, 'follow-up': { frequency_cap: 1 } },
    pending: { 'follow-up': 2 },
  };
  const report = compareReplays(live, candidate);

  it('lists every campaign of either folder, with its messages by ISO week and its skips', () => {
    expect(report.map((c) => [c.campaignId, c.verdict])).toEqual([
      ['follow-up', 'added'],
      ['review', 'unchanged'],
      ['thanks', 'changed'],
    ]);
    expect(report[2]?.candidate).toEqual({ enabled: true, sent: 2, byWeek: { '2026-W49': 1, '2026-W50': 1 }, skipped: {}, pendingAtEnd: 0 });
    expect(report[0]?.difference).toEqual({ sent: 1, byWeek: { '2026-W50': 1 }, skipped: { frequency_cap: 1 }, pendingAtEnd: 2, onlyCandidate: [{ customerId: 'a', at: '2026-12-09T10:00:00.000Z' }], onlyLive: [], onlyCandidateTotal: 1, onlyLiveTotal: 0 });
  });

  it('matches messages on customer and instant: a moved message is one only the candidate sends and one only the live set sends', () => {
    expect(report[2]?.difference).toMatchObject({ sent: 0, byWeek: {}, onlyCandidate: [{ customerId: 'a', at: '2026-12-01T13:00:00.000Z' }], onlyLive: [{ customerId: 'a', at: '2026-12-01T12:00:00.000Z' }] });
  });

  it('counts a customer mailed twice at one instant twice', () => {
    const twice: ReplayOutcome = { ...candidate, sent: [...candidate.sent, { campaignId: 'review', customerId: 'a', at: '2026-12-03T10:00:00.000Z' }] };
    expect(compareReplays(live, twice).find((c) => c.campaignId === 'review')?.difference).toMatchObject({ sent: 1, onlyCandidateTotal: 1 });
  });

  it('calls a campaign the candidate folder lacks removed, and one it disables changed', () => {
    const removed = compareReplays(live, { ...live, campaigns: [{ id: 'thanks', enabled: true }], sent: live.sent.filter((m) => m.campaignId === 'thanks'), skipped: {}, pending: {} });
    expect(removed.find((c) => c.campaignId === 'review')).toMatchObject({ verdict: 'removed', candidate: { enabled: null, sent: 0 }, difference: { sent: -1, skipped: { stale: -1, unsubscribed: -2 } } });
    const disabled = compareReplays({ ...live, sent: [], skipped: {} }, { ...live, campaigns: [{ id: 'thanks', enabled: true }, { id: 'review', enabled: false }], sent: [], skipped: {} });
    expect(disabled.find((c) => c.campaignId === 'review')?.verdict).toBe('changed');
  });

  it('subtracts counts key by key, leaving out zeros', () => {
    expect(subtract({ a: 2, b: 1 }, { a: 2, c: 3 })).toEqual({ b: 1, c: -3 });
  });

  it('prints the changed campaigns with weeks, skips and examples, and the unchanged ones in a line each', () => {
    const lines = formatReport({ from: '2026-11-30T00:00:00.000Z', to: '2026-12-14T00:00:00.000Z', replayed: { commerceEvents: 5, consentChanges: 0, consentChangesBeforeWindow: 0, steps: 14, note: '5 records' }, campaigns: report });
    expect(lines).toEqual([
      'What if: 2026-11-30T00:00:00.000Z to 2026-12-14T00:00:00.000Z',
      'Replayed: 5 records',
      '',
      'follow-up (added; live absent, candidate enabled): would send 1, live 0 (+1)',
      '  week       candidate   live   difference',
      '  2026-W50          1      0           +1',
      '  skipped: frequency_cap 1 (live 0)',
      '  due after the window: 2 (live 0)',
      '  only with the candidate (1): a at 2026-12-09T10:00:00.000Z',
      '',
      'thanks (changed; live enabled, candidate enabled): would send 2, live 2 (0)',
      '  week       candidate   live   difference',
      '  2026-W49          1      1            0',
      '  2026-W50          1      1            0',
      '  only with the candidate (1): a at 2026-12-01T13:00:00.000Z',
      '  only with the live set (1): a at 2026-12-01T12:00:00.000Z',
      '',
      'Unchanged:',
      '  review: 1 message(s); skipped stale 1, unsubscribed 2',
    ]);
  });
});
