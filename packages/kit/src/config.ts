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
};

const hints: Record<string, string> = {
  KAFKA_BROKERS: 'a comma-separated list such as 127.0.0.1:9092',
  DATABASE_URL: 'a URL such as postgres://postgres@127.0.0.1:5432/lifecycle',
  PORT: 'a TCP port number such as 3001',
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
