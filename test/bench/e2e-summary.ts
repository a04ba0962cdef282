import { percentile, type Verdict } from '../chaos/verdict.ts';

/**
 * The end-to-end bench's figures and how they are printed: pure, so the rules are tested on
 * their own (e2e-summary.test.ts).
 */

export interface E2eFigures {
  /** Events per second ingestion accepted over the run (the target when the generator kept up). */
  rate: number;
  seconds: number;
  /** Order → thank-you at the provider; NaN when no order got one. */
  p50Ms: number;
  p99Ms: number;
  lost: number;
  doubled: number;
  /** The highest peak RSS of any one service process. */
  maxRssMb: number;
  /** The most records any one consumer group was behind, summed over its partitions. */
  maxLag: number;
}

const ms = (value: number): string => (Number.isFinite(value) ? String(Math.round(value)) : '–');

/** The bench's last line, always in this form. */
export function e2eLine(f: E2eFigures): string {
  return `e2e ${Math.round(f.rate)} events/s for ${Math.round(f.seconds)} s: order→send p50 ${ms(f.p50Ms)} ms, p99 ${ms(f.p99Ms)} ms, lost ${f.lost}, doubled ${f.doubled}, max RSS ${Math.round(f.maxRssMb)} MB, max lag ${f.maxLag}`;
}

/**
 * Events per second ingestion accepted: from the start of the load to the last acceptance, or
 * over the planned duration when everything was in by then.
 */
export function achievedRate(o: { acceptedEvents: number; startedAt: number; lastAcceptedAt: number; durationMs: number }): number {
  const spanMs = Math.max(o.durationMs, o.lastAcceptedAt - o.startedAt);
  return spanMs <= 0 ? 0 : (o.acceptedEvents * 1000) / spanMs;
}

/** A rate short of the target by more than 2 % is a generator (or ingestion) that did not keep up. */
export function fellShort(target: number, achieved: number): boolean {
  return achieved < target * 0.98;
}

/**
 * Orders ingestion accepted that got no thank-you at all (a doubtful send excuses nothing here:
 * the customer got no mail), orders with more than one, and orders without a mail that the
 * client gave up posting after ingestion kept refusing them (503): not the pipeline's loss.
 */
export function lostAndDoubled(verdict: Pick<Verdict, 'missing' | 'excused' | 'doubled'>, notAccepted: ReadonlySet<string>): { lost: number; doubled: number; refused: number } {
  const unmailed = [...verdict.missing, ...verdict.excused];
  const refused = unmailed.filter((orderId) => notAccepted.has(orderId)).length;
  return { lost: unmailed.length - refused, doubled: verdict.doubled.length, refused };
}

/** The service a consumer group belongs to: groups are named `<prefix>lifecycle-<service>[-<purpose>]`. */
export function serviceOfGroup(group: string, prefix: string, services: readonly string[]): string | undefined {
  if (!group.startsWith(prefix)) return undefined;
  const name = group.slice(prefix.length);
  return [...services].sort((a, b) => b.length - a.length).find((s) => name === `lifecycle-${s}` || name.startsWith(`lifecycle-${s}-`));
}

/** `VmRSS` and `VmHWM` (peak) of a `/proc/<pid>/status`, in kB; undefined when absent. */
export function parseProcStatus(text: string): { rssKb: number | undefined; peakKb: number | undefined } {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]);
  };
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/** One order's way through the pipeline (epoch ms); undefined where the row was not found. */
export interface OrderTrace {
  posted: number;
  ingested?: number;
  jobCreated?: number;
  jobFired?: number;
  sendClaimed?: number;
  mailed?: number;
}

export const stages = [
  ['posted', 'ingested', 'HTTP post → ingestion recorded it'],
  ['ingested', 'jobCreated', 'ingestion → scheduler job'],
  ['jobCreated', 'jobFired', 'job → fired'],
  ['jobFired', 'sendClaimed', 'fired → messaging claimed the send'],
  ['sendClaimed', 'mailed', 'claimed → SendGrid got the mail'],
] as const;

/** p50 and p99 of each stage over the orders that have both of its ends. */
export function stageLatencies(traces: readonly OrderTrace[]): { stage: string; p50: number; p99: number; count: number }[] {
  return stages.map(([from, to, stage]) => {
    const values = traces.flatMap((t) => {
      const a = t[from];
      const b = t[to];
      return a === undefined || b === undefined ? [] : [b - a];
    });
    values.sort((x, y) => x - y);
    return { stage, p50: percentile(values, 50), p99: percentile(values, 99), count: values.length };
  });
}

/** One sample of a database session of the run, from `pg_stat_activity`. */
export interface SessionSample {
  /** The session's `application_name`: the fleet member that opened it. */
  app: string;
  state: string | null;
  waitType: string | null;
  wait: string | null;
}

/**
 * What a service's database sessions were doing, as shares of the samples taken: `running`
 * (active, on a CPU or about to be), `Lock:transactionid`, `IO:DataFileRead` … (active, waiting
 * for that), `idle in transaction` (the service holds a transaction open between its
 * statements) and `idle` (waiting for the service's next statement). Most common first.
 */
export function sessionStates(samples: readonly SessionSample[], appToService: (app: string) => string | undefined): Map<string, { samples: number; states: [string, number][] }> {
  const counts = new Map<string, Map<string, number>>();
  for (const s of samples) {
    const service = appToService(s.app);
    if (service === undefined) continue;
    const state = s.state === 'active' ? (s.waitType === null ? 'running' : `${s.waitType}:${s.wait ?? '?'}`) : (s.state ?? 'unknown');
    const byState = counts.get(service) ?? new Map<string, number>();
    byState.set(state, (byState.get(state) ?? 0) + 1);
    counts.set(service, byState);
  }
  return new Map(
    [...counts.entries()].map(([service, byState]) => {
      const total = [...byState.values()].reduce((a, b) => a + b, 0);
      const states = [...byState.entries()].map(([state, n]): [string, number] => [state, n / total]).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return [service, { samples: total, states }];
    }),
  );
}
