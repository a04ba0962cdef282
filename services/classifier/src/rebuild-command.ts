import { createKafka, createLogger, createPool, runMain } from '@lifecycle/kit';
import { loadConfig } from './config.ts';
import { resetClassifier } from './rebuild.ts';

/**
 * `node services/classifier/src/rebuild-command.ts`: with the classifier stopped, resets its
 * schema and offsets; its next start replays every retained event into fresh profiles.
 */
await runMain('classifier-rebuild', async () => {
  const config = loadConfig(process.env);
  const logger = createLogger('classifier-rebuild', 'warn');
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    const result = await resetClassifier({ kafka: createKafka({ clientId: 'lifecycle-classifier-rebuild', brokers: config.KAFKA_BROKERS, logger }), pool, prefix: config.TOPIC_PREFIX });
    if (!result.ok) {
      process.stderr.write(`classifier rebuild refused: ${result.reason}\n`);
      process.exitCode = 1;
      return;
    }
    for (const [topic, records] of Object.entries(result.replay)) process.stdout.write(`${topic}: ${records} records to replay\n`);
    process.stdout.write('classifier reset: start it (./lifecycle start) and it rebuilds every profile from the events above\n');
  } finally {
    await pool.end();
  }
});
