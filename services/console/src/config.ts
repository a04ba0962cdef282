import { z } from 'zod';
import { baseConfigShape, parseConfig } from '@lifecycle/kit';
import { isPasswordHash } from './password.ts';

const serviceUrl = (port: number) => z.url().default(`http://127.0.0.1:${port}`).transform((u) => u.replace(/\/+$/, ''));

export const ConsoleConfig = z
  .object({
    DATABASE_URL: baseConfigShape.DATABASE_URL,
    LOG_LEVEL: baseConfigShape.LOG_LEVEL,
    HOST: baseConfigShape.HOST,
    PORT: z.coerce.number().int().min(0).max(65535).default(3005),
    /** The operators' password in plain text; hashed with scrypt at boot and the text dropped. */
    CONSOLE_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
    /** The password as `scrypt$<salt b64>$<hash b64>`, instead of CONSOLE_PASSWORD. */
    CONSOLE_PASSWORD_HASH: z.string().refine(isPasswordHash, 'scrypt$<salt base64>$<hash base64>').optional(),
    /** Sent as `Authorization: Bearer` to every service; unset, the services must run without one. */
    SERVICE_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
    INGESTION_URL: serviceUrl(3001),
    CLASSIFIER_URL: serviceUrl(3002),
    SCHEDULER_URL: serviceUrl(3003),
    MESSAGING_URL: serviceUrl(3004),
    /** How long a login lasts. */
    CONSOLE_SESSION_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
    /** How long the console waits for a service before it answers 502. */
    CONSOLE_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  })
  .refine((c) => c.CONSOLE_PASSWORD !== undefined || c.CONSOLE_PASSWORD_HASH !== undefined, {
    message: 'set CONSOLE_PASSWORD (or CONSOLE_PASSWORD_HASH, from: node services/console/src/hash-password.ts)',
    path: ['CONSOLE_PASSWORD'],
  });
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;

export function loadConfig(env: Record<string, string | undefined>): ConsoleConfig {
  return parseConfig(ConsoleConfig, env);
}
