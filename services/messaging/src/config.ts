import { join, resolve } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, parseConfig } from '@lifecycle/kit';

/** The repository root (this file is services/messaging/src/config.ts). */
const repoRoot = join(import.meta.dirname, '..', '..', '..');

export const MessagingConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3004),
  /** Absent: messages are written as .eml files to OUTBOX_DIR instead of being sent. */
  SENDGRID_API_KEY: z.string().trim().min(1).optional(),
  SENDGRID_BASE_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://api.sendgrid.com' }).default('https://api.sendgrid.com'),
  /** How long one SendGrid call may take before its outcome counts as unknown. */
  SENDGRID_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Relative paths are taken from the working directory. */
  OUTBOX_DIR: z.string().min(1).default(join(repoRoot, 'outbox')).transform((p) => resolve(p)),
  TEMPLATES_DIR: z.string().min(1).default(join(repoRoot, 'templates')).transform((p) => resolve(p)),
});
export type MessagingConfig = z.infer<typeof MessagingConfig>;

export function loadConfig(env: Record<string, string | undefined>): MessagingConfig {
  return parseConfig(MessagingConfig, env);
}
