/**
 * When the chaos run does what: the services are killed in turn, the database is cut in the
 * middle of the run, and a broker goes last. Pure, so the schedule can be checked without a
 * cluster.
 */

export type PlannedFault =
  /** SIGKILL the service, start it again with the same command `downMs` later. */
  | { kind: 'service'; target: string; atMs: number; downMs: number }
  /** SIGKILL the broker leading partition 0 of the topic, start it again `downMs` later. */
  | { kind: 'broker'; target: string; atMs: number; downMs: number }
  /** Refuse and drop every database connection of the services for `downMs`. */
  | { kind: 'database'; target: 'postgresql'; atMs: number; downMs: number };

export interface FaultPlanOptions {
  /** How long orders stream in; faults are spread over it. */
  durationMs: number;
  /** Killed in this order. */
  services: readonly string[];
  /** How long a killed service stays down. */
  serviceDownMs: number;
  /** The topic whose partition 0 leader is killed; undefined: no broker is killed. */
  brokerTopic?: string;
  brokerDownMs: number;
  /** How long the database is cut; 0: not at all. */
  databaseCutMs: number;
  /** The least time between one fault's end and the next fault, for the pipeline to catch up. */
  settleMs: number;
}

/**
 * Evenly spaced over the run, each fault starting no earlier than `settleMs` after the previous
 * one's end (a service killed while the database is cut would only test the restart policy again,
 * and latencies after each fault stay readable). The database cut comes after the first half of
 * the services, the broker last.
 */
export function planFaults(opts: FaultPlanOptions): PlannedFault[] {
  const half = Math.ceil(opts.services.length / 2);
  const brokerTopic = opts.brokerTopic;
  const service = (target: string) => (atMs: number): PlannedFault => ({ kind: 'service', target, atMs, downMs: opts.serviceDownMs });
  const sequence: { downMs: number; at: (atMs: number) => PlannedFault }[] = [
    ...opts.services.slice(0, half).map((target) => ({ downMs: opts.serviceDownMs, at: service(target) })),
    ...(opts.databaseCutMs > 0 ? [{ downMs: opts.databaseCutMs, at: (atMs: number): PlannedFault => ({ kind: 'database', target: 'postgresql', atMs, downMs: opts.databaseCutMs }) }] : []),
    ...opts.services.slice(half).map((target) => ({ downMs: opts.serviceDownMs, at: service(target) })),
    ...(brokerTopic === undefined ? [] : [{ downMs: opts.brokerDownMs, at: (atMs: number): PlannedFault => ({ kind: 'broker', target: brokerTopic, atMs, downMs: opts.brokerDownMs }) }]),
  ];
  const spacing = opts.durationMs / (sequence.length + 1);
  const plan: PlannedFault[] = [];
  let freeFrom = 0;
  sequence.forEach((fault, i) => {
    const atMs = Math.round(Math.max(spacing * (i + 1), freeFrom));
    freeFrom = atMs + fault.downMs + opts.settleMs;
    plan.push(fault.at(atMs));
  });
  return plan;
}
