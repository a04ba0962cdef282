import { parseArgs } from 'node:util';
import { createKafka, createLogger, createPool } from '@lifecycle/kit';
import type { CommandContext } from '@lifecycle/kit/command';
import { loadConfig } from './config.ts';
import { resetClassifier } from './rebuild.ts';

/**
 * `rebuild`: with the classifier stopped, resets its schema and offsets; its next start replays
 * every retained event into fresh profiles. Exit 1 when it refuses (a classifier is running).
 */
export async function rebuildCommand(args: string[], { env }: CommandContext): Promise<number> {
  parseArgs({ args, strict: true });
  const config = loadConfig(env);
  const logger = createLogger('classifier-rebuild', 'warn');
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    const result = await resetClassifier({ kafka: createKafka({ clientId: 'lifecycle-classifier-rebuild', brokers: config.KAFKA_BROKERS, logger }), pool, prefix: config.TOPIC_PREFIX });
    if (!result.ok) {
      process.stderr.write(`classifier rebuild refused: ${result.reason}\n`);
      return 1;
    }
    for (const [topic, records] of Object.entries(result.replay)) process.stdout.write(`${topic}: ${records} records to replay\n`);
    process.stdout.write('classifier reset: start it (./lifecycle start) and it rebuilds every profile from the events above\n');
    return 0;
  } finally {
    await pool.end();
  }
}
