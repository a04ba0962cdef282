import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Settings every service shares. Each service extends this with its own. */
export const baseConfigShape = {
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((v) => v.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker is host:port')).min(1)),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/lifecycle'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Prepended to every topic and consumer group name; isolates test runs and tenants. */
  TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').default(''),
  HOST: z.string().default('127.0.0.1'),
  /**
   * `system`: the machine's time. `simulated`: the scheduler owns the clock (`POST /admin/clock`)
   * and publishes it on `system.clock`; every other service follows it (see `serviceClock`).
   */
  CLOCK: z.enum(['system', 'simulated']).default('system'),
  /**
   * Given, every route but the open ones (health, metrics, docs, the tracking API, SendGrid's
   * webhook, unsubscribe links) needs `Authorization: Bearer <token>`; unset, every route is open.
   */
  SERVICE_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
};

/**
 * A folder or file the service reads or writes. A value given is taken from the working
 * directory when relative; the default is an absolute path, so a service finds the repository's
 * folders from its own location whatever directory it is started in. With `mustExist`, start-up
 * stops with the variable named when the path is not a folder (or file) of that kind.
 */
export function pathSetting(defaultPath: string, mustExist?: 'folder' | 'file') {
  return z
    .string()
    .min(1)
    .default(defaultPath)
    .transform((value, ctx) => {
      const path = resolve(value);
      if (mustExist === undefined) return path;
      const found = statSync(path, { throwIfNoEntry: false });
      if (mustExist === 'folder' ? found?.isDirectory() !== true : found?.isFile() !== true) {
        const relative = isAbsolute(value) ? '' : ` (${value}, from the working directory ${process.cwd()})`;
        ctx.addIssue({ code: 'custom', message: `no ${mustExist} at ${path}${relative}` });
      }
      return path;
    });
}

const hints: Record<string, string> = {
  KAFKA_BROKERS: 'a comma-separated list such as 127.0.0.1:9092',
  DATABASE_URL: 'a URL such as postgres://postgres@127.0.0.1:5432/lifecycle',
  PORT: 'a TCP port number such as 3001',
  SERVICE_TOKEN: 'a random string of at least 16 characters, the same for every service and the console; or leave it unset',
};

/**
 * Parses environment variables once at boot. The error names every bad variable, what was
 * wrong, and what a good value looks like.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const hint = hints[name];
    return `  ${name}: ${issue.message}${hint ? ` (expected ${hint})` : ''}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
