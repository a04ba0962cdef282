import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './kafka-broker.ts';

/** Where a developer's stack keeps what it generates once per checkout (git-ignored). */
export const localDir = join(repoRoot, '.local');

/** `.local/<name>`'s text, made once (mode 600) from `make` when the file does not exist. */
function generatedOnce(dir: string, name: string, make: () => string): { value: string; file: string; created: boolean } {
  const file = join(dir, name);
  let created = false;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // `wx`: two stacks starting at once do not overwrite each other's secret.
    try {
      writeFileSync(file, `${make()}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
    }
  }
  return { value: readFileSync(file, 'utf8').trim(), file, created };
}

/**
 * The token every service of the stack requires on its protected routes (docs/console.md §1):
 * SERVICE_TOKEN from the environment, else `.local/service-token`, made once.
 */
export function stackServiceToken(env: NodeJS.ProcessEnv, dir = localDir): string {
  const given = env.SERVICE_TOKEN?.trim();
  if (given !== undefined && given !== '') return given;
  return generatedOnce(dir, 'service-token', () => randomBytes(24).toString('base64url')).value;
}

/**
 * The secret messaging signs generated coupon codes with (docs/offers.md §3): COUPON_SECRET from
 * the environment, else `.local/coupon-secret`, made once, so codes in mail already sent still verify.
 */
export function stackCouponSecret(env: NodeJS.ProcessEnv, dir = localDir): string {
  const given = env.COUPON_SECRET?.trim();
  if (given !== undefined && given !== '') return given;
  return generatedOnce(dir, 'coupon-secret', () => randomBytes(32).toString('base64')).value;
}

/** The console's password: CONSOLE_PASSWORD from the environment, else `.local/console-password`, made once. */
export function stackConsolePassword(env: NodeJS.ProcessEnv, dir = localDir): { password: string; source: 'CONSOLE_PASSWORD' | 'file'; file: string; created: boolean } {
  const file = join(dir, 'console-password');
  const given = env.CONSOLE_PASSWORD;
  if (given !== undefined && given !== '') return { password: given, source: 'CONSOLE_PASSWORD', file, created: false };
  const made = generatedOnce(dir, 'console-password', () => randomBytes(15).toString('base64url'));
  return { password: made.value, source: 'file', file, created: made.created };
}

/**
 * The service token a tool should send to a running stack, if that stack has one: SERVICE_TOKEN,
 * else the one `./lifecycle start` generated. Sending it to a service that runs without one is harmless.
 */
export function knownServiceToken(env: NodeJS.ProcessEnv = process.env, dir = localDir): string | undefined {
  const given = env.SERVICE_TOKEN?.trim();
  if (given !== undefined && given !== '') return given;
  const file = join(dir, 'service-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

/** `Authorization: Bearer <token>` for a tool's request to a service's protected API, or nothing. */
export function serviceAuthHeaders(token: string | undefined = knownServiceToken()): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
