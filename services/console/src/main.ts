import { join } from 'node:path';
import { createDatabase, createLogger, createPool, databaseReachable, ensureDatabase, installShutdown, runMain, runMigrations } from '@lifecycle/kit';
import { createConsoleApp } from './app.ts';
import { loadConfig } from './config.ts';
import { auditLogRepository } from './db/audit-log.ts';
import { hashPassword } from './password.ts';
import { createUpstream } from './upstream.ts';

// The console uses no Kafka, so not the kit's runServiceMain (which connects a producer): the
// same order by hand, configuration, database and migrations, app, listen, one shutdown path.
await runMain('console', async () => {
  const config = loadConfig(process.env);
  const passwordHash = config.CONSOLE_PASSWORD_HASH ?? (await hashPassword(config.CONSOLE_PASSWORD ?? ''));
  // The plain text is not kept: neither in the config object nor in the environment children would inherit.
  delete config.CONSOLE_PASSWORD;
  delete process.env.CONSOLE_PASSWORD;
  const logger = createLogger('console', config.LOG_LEVEL);
  await ensureDatabase(config.DATABASE_URL);
  const migrated = await runMigrations(config.DATABASE_URL, { schema: 'console', migrationsFolder: join(import.meta.dirname, '..', 'drizzle') });
  if (migrated.applied > 0 || migrated.adopted > 0) logger.info({ schema: 'console', ...migrated }, 'database migrated');
  const pool = createPool(config.DATABASE_URL, 4);
  pool.on('error', (err) => logger.error({ err }, 'idle database connection failed'));
  if (config.SERVICE_TOKEN === undefined) logger.warn('SERVICE_TOKEN is unset: the console calls the services without a token, which works only while they run without one');
  const app = await createConsoleApp({
    logger,
    passwordHash,
    sessionTtlMs: config.CONSOLE_SESSION_HOURS * 3_600_000,
    upstream: createUpstream({
      urls: { ingestion: config.INGESTION_URL, classifier: config.CLASSIFIER_URL, scheduler: config.SCHEDULER_URL, messaging: config.MESSAGING_URL },
      token: config.SERVICE_TOKEN,
      timeoutMs: config.CONSOLE_UPSTREAM_TIMEOUT_MS,
      logger,
    }),
    audit: auditLogRepository(createDatabase(pool)),
    webDir: join(import.meta.dirname, '..', 'dist', 'web'),
    readiness: { database: () => databaseReachable(pool) },
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  logger.info({ address }, 'service started');
  installShutdown(logger, [
    { name: 'http', run: () => app.close() },
    { name: 'connections', run: () => pool.end() },
  ]);
});
