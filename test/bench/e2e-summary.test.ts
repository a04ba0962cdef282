import { describe, expect, it } from 'vitest';
import { judge, type MailReceived, type OrderSent } from '../chaos/verdict.ts';
import { achievedRate, e2eLine, fellShort, lostAndDoubled, parseProcStatus, serviceOfGroup, sessionStates, stageLatencies } from './e2e-summary.ts';

const order = (n: number, firstPostedAt = 1_000): OrderSent => ({ orderId: `E2E-${n}`, dedupeKey: `post-purchase-thank-you:c${n}:order-E2E-${n}`, firstPostedAt });
const mail = (n: number, receivedAt = 2_000): MailReceived => ({ dedupeKey: `post-purchase-thank-you:c${n}:order-E2E-${n}`, receivedAt });

describe('the end-to-end bench summary', () => {
  it('prints the one line the bench ends with, rounded to whole units', () => {
    expect(e2eLine({ rate: 999.6, seconds: 300, p50Ms: 412.4, p99Ms: 1_987.5, lost: 0, doubled: 0, maxRssMb: 181.7, maxLag: 1234 })).toBe(
      'e2e 1000 events/s for 300 s: order→send p50 412 ms, p99 1988 ms, lost 0, doubled 0, max RSS 182 MB, max lag 1234',
    );
  });

  it('prints a dash for the latency when no order got a mail', () => {
    expect(e2eLine({ rate: 100, seconds: 60, p50Ms: Number.NaN, p99Ms: Number.NaN, lost: 600, doubled: 0, maxRssMb: 90, maxLag: 0 })).toBe(
      'e2e 100 events/s for 60 s: order→send p50 – ms, p99 – ms, lost 600, doubled 0, max RSS 90 MB, max lag 0',
    );
  });

  it('counts an order without a mail as lost even when its send is doubtful, and a second mail as doubled', () => {
    const statuses = new Map([[order(2).dedupeKey, 'doubtful']]);
    const verdict = judge([order(1), order(2), order(3), order(4)], [mail(1), mail(4), mail(4)], statuses);
    expect(lostAndDoubled(verdict, new Set())).toEqual({ lost: 2, doubled: 1, refused: 0 });
  });

  it('does not count as lost an order the client gave up posting, unless a mail came for it anyway', () => {
    const verdict = judge([order(1), order(2), order(3)], [mail(1), mail(3)], new Map());
    expect(lostAndDoubled(verdict, new Set(['E2E-2', 'E2E-3']))).toEqual({ lost: 0, doubled: 0, refused: 1 });
    expect(lostAndDoubled(verdict, new Set(['E2E-3']))).toEqual({ lost: 1, doubled: 0, refused: 0 });
  });

  it('rates the load over the planned duration, or up to the last acceptance when that came later', () => {
    expect(achievedRate({ acceptedEvents: 60_000, startedAt: 0, lastAcceptedAt: 59_990, durationMs: 60_000 })).toBe(1_000);
    expect(achievedRate({ acceptedEvents: 60_000, startedAt: 0, lastAcceptedAt: 120_000, durationMs: 60_000 })).toBe(500);
    expect(fellShort(1_000, 990)).toBe(false);
    expect(fellShort(1_000, 950)).toBe(true);
  });

  it('tells which service a consumer group belongs to, the longer name winning', () => {
    const services = ['ingestion', 'classifier', 'scheduler', 'messaging'];
    expect(serviceOfGroup('bench_x.lifecycle-scheduler-stages', 'bench_x.', services)).toBe('scheduler');
    expect(serviceOfGroup('bench_x.lifecycle-messaging', 'bench_x.', services)).toBe('messaging');
    expect(serviceOfGroup('bench_y.lifecycle-messaging', 'bench_x.', services)).toBeUndefined();
    expect(serviceOfGroup('bench_x.chaos-forensics', 'bench_x.', services)).toBeUndefined();
    expect(serviceOfGroup('p.lifecycle-a-b', 'p.', ['a', 'a-b'])).toBe('a-b');
  });

  it('reads resident and peak memory from /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1234567 kB\nVmHWM:\t  186420 kB\nVmRSS:\t  150112 kB\nThreads:\t11\n';
    expect(parseProcStatus(status)).toEqual({ rssKb: 150112, peakKb: 186420 });
    expect(parseProcStatus('Name:\tzombie\n')).toEqual({ rssKb: undefined, peakKb: undefined });
  });

  it('times each step of an order from the rows that have both of its ends', () => {
    const stages = stageLatencies([
      { posted: 0, ingested: 100, jobCreated: 300, jobFired: 300, sendClaimed: 900, mailed: 1_000 },
      { posted: 0, ingested: 50, jobCreated: 450, jobFired: 460 },
    ]);
    expect(stages.map((s) => [s.stage, s.p50, s.p99, s.count])).toEqual([
      ['HTTP post → ingestion recorded it', 50, 100, 2],
      ['ingestion → scheduler job', 200, 400, 2],
      ['job → fired', 0, 10, 2],
      ['fired → messaging claimed the send', 600, 600, 1],
      ['claimed → SendGrid got the mail', 100, 100, 1],
    ]);
  });

  it('tells what the sessions of each service were doing, most common first', () => {
    const appToService = (app: string): string | undefined => (app.startsWith('scheduler') ? 'scheduler' : app === 'messaging' ? 'messaging' : undefined);
    const states = sessionStates(
      [
        { app: 'scheduler-1', state: 'active', waitType: null, wait: null },
        { app: 'scheduler-2', state: 'active', waitType: 'Lock', wait: 'transactionid' },
        { app: 'scheduler-1', state: 'idle in transaction', waitType: 'Client', wait: 'ClientRead' },
        { app: 'scheduler-1', state: 'active', waitType: 'Lock', wait: 'transactionid' },
        { app: 'messaging', state: 'idle', waitType: 'Client', wait: 'ClientRead' },
        { app: 'psql', state: 'active', waitType: null, wait: null },
      ],
      appToService,
    );
    expect(states.get('scheduler')).toEqual({
      samples: 4,
      states: [
        ['Lock:transactionid', 0.5],
        ['idle in transaction', 0.25],
        ['running', 0.25],
      ],
    });
    expect(states.get('messaging')).toEqual({ samples: 1, states: [['idle', 1]] });
    expect([...states.keys()].sort()).toEqual(['messaging', 'scheduler']);
  });
});
