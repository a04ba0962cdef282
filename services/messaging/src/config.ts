import { join } from 'node:path';
import { z } from 'zod';
import { baseConfigShape, parseConfig, pathSetting } from '@lifecycle/kit/config';
import { parseWebhookPublicKey } from './domain/webhook-signature.ts';

/** The repository root (this file is services/messaging/src/config.ts): the folders' defaults. */
const repoRoot = join(import.meta.dirname, '..', '..', '..');

export const MessagingConfig = z.object({
  ...baseConfigShape,
  PORT: z.coerce.number().int().min(0).max(65535).default(3004),
  /** Absent: messages are written as .eml files to OUTBOX_DIR instead of being sent. */
  SENDGRID_API_KEY: z.string().trim().min(1).optional(),
  SENDGRID_BASE_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://api.sendgrid.com' }).default('https://api.sendgrid.com'),
  /** How long one SendGrid call may take before its outcome counts as unknown. */
  SENDGRID_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Provider calls per message before it is failed; 429, 5xx and refused connections are retried. */
  SENDGRID_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  /** First backoff after a 5xx or refused connection; doubled each time, with full jitter. */
  SENDGRID_RETRY_BASE_MS: z.coerce.number().int().min(0).default(500),
  /** Longest single wait, also for a 429's reset; the consumer heartbeats on a timer while it waits. */
  SENDGRID_RETRY_MAX_MS: z.coerce.number().int().min(0).max(25_000, 'at most 25000').default(20_000),
  /** Provider calls started per second by this process. */
  SENDGRID_SENDS_PER_SECOND: z.coerce.number().positive().default(100),
  /** Messages handled at the same time; one customer's always one after another, in order. */
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Signs unsubscribe links (HMAC-SHA256). Unset: marketing mail is failed, not sent without a link. */
  UNSUBSCRIBE_SECRET: z.string().min(32, 'at least 32 characters, e.g. the output of `openssl rand -base64 32`').optional(),
  /** The secret before the last rotation: links signed with it keep working. Unset once its mail is old enough. */
  UNSUBSCRIBE_SECRET_PREVIOUS: z.string().min(32, 'at least 32 characters: the UNSUBSCRIBE_SECRET used before the current one').optional(),
  /** `accept`: links in mail sent before opaque tokens (they carry the address) still unsubscribe; `refuse`: they show "not valid". */
  UNSUBSCRIBE_LEGACY_TOKENS: z.enum(['accept', 'refuse'], { error: 'expected accept or refuse' }).default('accept'),
  /** The `mailto:` address in `List-Unsubscribe`; unset: only the https one-click link. */
  UNSUBSCRIBE_MAILTO: z.email({ error: 'expected an address such as unsubscribe@shop.example.com' }).optional(),
  /** Where customers reach this service: unsubscribe links and the preview page are built on it. */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://mail.shop.example.com' }).default('http://127.0.0.1:3004'),
  /** SendGrid's Event Webhook verification key (base64 DER or PEM). Unset: POST /webhooks/sendgrid answers 503. */
  SENDGRID_WEBHOOK_PUBLIC_KEY: z
    .string()
    .trim()
    .min(1)
    .refine(
      (value) => {
        try {
          parseWebhookPublicKey(value);
          return true;
        } catch {
          return false;
        }
      },
      'expected the verification key SendGrid shows for signed event webhooks: base64 of an ECDSA P-256 public key (or PEM)',
    )
    .optional(),
  /** Where the outbox transport writes; created when the first message is written. */
  OUTBOX_DIR: pathSetting(join(repoRoot, 'outbox')),
  /** Signs generated coupon codes' check characters (HMAC-SHA256); the stack makes one in `.local/coupon-secret`. Unset: generated pools hand out nothing. */
  COUPON_SECRET: z.string().min(32, 'at least 32 characters, e.g. the output of `openssl rand -base64 32`').optional(),
  /** The coupon pools campaigns' offers take codes from; a missing file means no pools (an offer's mail is skipped). */
  COUPONS_FILE: pathSetting(join(repoRoot, 'campaigns', '_coupons.yaml')),
  /** The preference center's topics and double opt-in (contracts `ConsentSettings`); a missing file means no topics and no double opt-in. */
  CONSENT_FILE: pathSetting(join(repoRoot, 'campaigns', '_consent.yaml')),
  /** The message templates: a missing folder stops start-up rather than failing every send. */
  TEMPLATES_DIR: pathSetting(join(repoRoot, 'templates'), 'folder'),
}).superRefine((config, ctx) => {
  if (config.UNSUBSCRIBE_SECRET_PREVIOUS !== undefined && config.UNSUBSCRIBE_SECRET === undefined) {
    ctx.addIssue({ code: 'custom', path: ['UNSUBSCRIBE_SECRET_PREVIOUS'], message: 'only with UNSUBSCRIBE_SECRET: in a rotation, the new secret goes in UNSUBSCRIBE_SECRET' });
  }
});
export type MessagingConfig = z.infer<typeof MessagingConfig>;

export function loadConfig(env: Record<string, string | undefined>): MessagingConfig {
  return parseConfig(MessagingConfig, env);
}
