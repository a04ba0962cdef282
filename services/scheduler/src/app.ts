import { count } from 'drizzle-orm';
import { z } from 'zod';
import { createServiceApp, startTopicConsumer, type FastifyInstance, type RunningConsumer, type Runtime } from '@lifecycle/kit';
import { lifecycleEventHandler } from './consumer.ts';
import { jobs } from './db/schema.ts';
import type { Campaign } from './domain/campaign.ts';
import type { Clock, SimulatedClock } from './domain/clock.ts';
import { createJobRunner, type JobRunner } from './job-runner.ts';
import { timerRequestHandler } from './timers.ts';

export interface SchedulerOptions {
  runtime: Runtime;
  campaigns: Campaign[];
  clock: Clock;
  /** Present in simulated-clock mode only: enables POST /admin/clock. */
  simulated?: SimulatedClock;
  pollMs: number;
}

export interface Scheduler {
  app: FastifyInstance;
  consumers: RunningConsumer[];
  runner: JobRunner;
}

const ClockBody = z.object({ now: z.iso.datetime({ offset: true }) });

/** Builds the scheduler: the `lifecycle.events` consumer, the job runner and the HTTP app. */
export async function buildScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { runtime, campaigns, clock } = opts;
  const runner = createJobRunner({ runtime, clock, campaigns, pollMs: opts.pollMs });
  const consumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    groupId: 'lifecycle-scheduler',
    topic: 'lifecycleEvents',
    logger: runtime.logger,
    handle: lifecycleEventHandler(runtime, campaigns, () => void runner.runDue().catch(() => 0)),
  });
  const timerConsumer = await startTopicConsumer({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    groupId: 'lifecycle-scheduler-timers',
    topic: 'timersRequested',
    logger: runtime.logger,
    handle: timerRequestHandler(runtime, () => void runner.runDue().catch(() => 0)),
  });
  const consumers = [consumer, timerConsumer];
  const app = createServiceApp(runtime, () => consumers);

  app.get('/campaigns', async () => {
    const rows = await runtime.db
      .select({ campaignId: jobs.campaignId, status: jobs.status, jobs: count() })
      .from(jobs)
      .groupBy(jobs.campaignId, jobs.status);
    return {
      now: clock.now().toISOString(),
      campaigns: campaigns.map((c) => ({
        id: c.id,
        name: c.name,
        enabled: c.enabled,
        template: c.template,
        trigger: c.trigger,
        delayMs: c.delay,
        jobs: Object.fromEntries(rows.filter((r) => r.campaignId === c.id).map((r) => [r.status, r.jobs])),
      })),
    };
  });

  app.get('/admin/clock', async () => ({ now: clock.now().toISOString(), mode: opts.simulated ? 'simulated' : 'system' }));
  app.post('/admin/clock', async (request, reply) => {
    if (opts.simulated === undefined) return reply.status(404).send({ error: 'the clock can be set only when the scheduler runs with CLOCK=simulated' });
    const { now } = ClockBody.parse(request.body);
    const moved = opts.simulated.set(new Date(now));
    if (!moved.ok) return reply.status(409).send({ error: moved.reason });
    // Answer once everything due by the new time has been fired, so callers can rely on it.
    const fired = await runner.runDue();
    runtime.logger.info({ now: clock.now().toISOString(), fired }, 'clock set');
    return { now: clock.now().toISOString(), fired };
  });

  runner.start();
  return { app, consumers, runner };
}
