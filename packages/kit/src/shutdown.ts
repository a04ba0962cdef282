import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

/**
 * The one shutdown path: on SIGTERM or SIGINT run the steps in order (stop fetching, finish
 * in-flight work and commit, close pools), and exit non-zero if they overrun the deadline.
 */
export function installShutdown(logger: Logger, steps: ShutdownStep[], deadlineMs = 10_000): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed, exiting');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    let failed = false;
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        failed = true;
        logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(failed ? 1 : 0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
