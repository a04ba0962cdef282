import type { Consumer, ConsumerConfig, Kafka, ProducerConfig } from 'kafkajs';

/**
 * How long the broker keeps a member that stopped heartbeating. A process killed without leaving
 * its groups (SIGKILL, OOM, a lost machine) holds its partitions this long, so a restarted service
 * waits about this long to consume again. kafkajs has no static membership (group.instance.id,
 * tulios/kafkajs#884), which would let the restart take the old member's place at once; a short
 * session with frequent heartbeats is the lever left. 10 s is above the broker's default floor
 * (`group.min.session.timeout.ms`, 6 s) and well above a GC pause.
 */
export const GROUP_SESSION_TIMEOUT_MS = 10_000;

/** Heartbeats every second: ten chances per session, so one slow round trip costs nothing. */
export const GROUP_HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * What every producer of the kit is built with. Idempotent: the broker drops a batch a retry sends
 * twice (a produce whose answer was lost), so a retry never duplicates a record. kafkajs requires
 * acks -1 with it (its default, which every send here keeps) and, to keep its sequence numbers in
 * order, one request in flight per broker connection (KIP-98; kafkajs' idempotent producer also
 * serialises produce requests per broker).
 *
 * Retries stay at the 5 a plain kafkajs producer makes instead of the endless retries kafkajs gives
 * an idempotent one: in an outage a send must fail, so consumers pause and the HTTP API answers
 * 503, rather than hang. A send that gives up and is repeated later may then land twice, which
 * every consumer drops by the record's id.
 */
export const producerSettings = {
  idempotent: true,
  maxInFlightRequests: 1,
  retry: { retries: 5 },
} as const satisfies ProducerConfig;

/** kafkajs' warning about the limited retries above, said once per producer; the choice is deliberate. */
export const limitedRetriesWarning = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * A group consumer whose `run` returns once it is started rather than once it has joined its
 * group, so a service listens (its `/healthz` answers) while the group takes it back, which after
 * a crash lasts until the dead member's session ends. `disconnect` during that wait lets the join
 * end first, then leaves the group: kafkajs would otherwise finish the join after the disconnect
 * and keep consuming.
 */
export function groupConsumer(kafka: Kafka, config: Omit<ConsumerConfig, 'sessionTimeout' | 'heartbeatInterval' | 'retry'>): Consumer {
  let stopping = false;
  let settled: Promise<void> = Promise.resolve();
  const consumer = kafka.consumer({
    ...config,
    sessionTimeout: GROUP_SESSION_TIMEOUT_MS,
    heartbeatInterval: GROUP_HEARTBEAT_INTERVAL_MS,
    // The retries kafkajs gives a consumer by default; no restart after a crash once stopping.
    retry: { retries: 5, restartOnFailure: async () => !stopping },
  });
  const run = consumer.run;
  const disconnect = consumer.disconnect;
  consumer.run = async (runConfig) => {
    let settle: () => void = () => {};
    settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const offJoin = consumer.on(consumer.events.GROUP_JOIN, () => settle());
    const offCrash = consumer.on(consumer.events.CRASH, () => settle());
    void settled.then(() => {
      offJoin();
      offCrash();
    });
    // kafkajs handles a failed join itself (a crash event, then a restart); this catches only a
    // failure to begin at all.
    void run(runConfig).catch((err: unknown) => {
      settle();
      kafka.logger().error('consumer failed to start', { groupId: config.groupId, error: err instanceof Error ? err.message : String(err) });
    });
  };
  consumer.disconnect = async () => {
    stopping = true;
    // Bounded: a join waits at most for the old members' sessions to end.
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, GROUP_SESSION_TIMEOUT_MS + 2_000).unref())]);
    // kafkajs announces the join a few promise callbacks before it marks itself running, and a
    // stop before that is ignored; the next turn of the event loop is after.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await disconnect();
  };
  return consumer;
}
