import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@lifecycle/kit';
import { loadConfig } from './config.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

describe('messaging config', () => {
  it('defaults to port 3004, the outbox (no API key) and the repository’s templates', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3004,
      SENDGRID_BASE_URL: 'https://api.sendgrid.com',
      OUTBOX_DIR: join(repoRoot, 'outbox'),
      TEMPLATES_DIR: join(repoRoot, 'templates'),
      CONSENT_FILE: join(repoRoot, 'campaigns', '_consent.yaml'),
    });
    expect(config.SENDGRID_API_KEY).toBeUndefined();
  });

  it('takes folders given relative to the working directory, and stops on a templates folder that is not there', () => {
    expect(loadConfig({ OUTBOX_DIR: 'mail-out' }).OUTBOX_DIR).toBe(join(process.cwd(), 'mail-out'));
    const missing = join(repoRoot, 'no-such-templates');
    expect(() => loadConfig({ TEMPLATES_DIR: missing })).toThrow(`TEMPLATES_DIR: no folder at ${missing}`);
  });

  it('treats an empty SENDGRID_API_KEY as unset', () => {
    expect(loadConfig({ SENDGRID_API_KEY: '' }).SENDGRID_API_KEY).toBeUndefined();
  });

  it('names the variable and says what a good value looks like', () => {
    expect(() => loadConfig({ SENDGRID_BASE_URL: 'api.sendgrid.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ SENDGRID_BASE_URL: 'api.sendgrid.com' })).toThrow(/SENDGRID_BASE_URL: expected an http\(s\) URL such as https:\/\/api\.sendgrid\.com/);
  });

  it('refuses a short unsubscribe secret and a webhook key that is not SendGrid’s kind, saying what to use', () => {
    expect(() => loadConfig({ UNSUBSCRIBE_SECRET: 'short' })).toThrow(/UNSUBSCRIBE_SECRET: at least 32 characters/);
    expect(() => loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: 'bm90IGEga2V5' })).toThrow(/SENDGRID_WEBHOOK_PUBLIC_KEY: expected the verification key SendGrid shows/);
    expect(() => loadConfig({ SENDGRID_RETRY_MAX_MS: '60000' })).toThrow(/SENDGRID_RETRY_MAX_MS: at most 25000/);
  });

  it('takes a previous unsubscribe secret only beside a current one, and accepts legacy links unless told to refuse them', () => {
    const secret = 'x'.repeat(32);
    expect(() => loadConfig({ UNSUBSCRIBE_SECRET_PREVIOUS: secret })).toThrow(/UNSUBSCRIBE_SECRET_PREVIOUS: only with UNSUBSCRIBE_SECRET/);
    expect(loadConfig({ UNSUBSCRIBE_SECRET: secret, UNSUBSCRIBE_SECRET_PREVIOUS: 'y'.repeat(32) })).toMatchObject({ UNSUBSCRIBE_SECRET_PREVIOUS: 'y'.repeat(32), UNSUBSCRIBE_LEGACY_TOKENS: 'accept' });
    expect(() => loadConfig({ UNSUBSCRIBE_LEGACY_TOKENS: 'no' })).toThrow(/UNSUBSCRIBE_LEGACY_TOKENS: expected accept or refuse/);
  });

  it('defaults to 5 attempts, 100 sends a second and 8 parallel sends', () => {
    expect(loadConfig({})).toMatchObject({ SENDGRID_MAX_ATTEMPTS: 5, SENDGRID_SENDS_PER_SECOND: 100, SEND_CONCURRENCY: 8, PUBLIC_URL: 'http://127.0.0.1:3004' });
  });
});
