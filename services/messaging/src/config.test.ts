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
    });
    expect(config.SENDGRID_API_KEY).toBeUndefined();
  });

  it('treats an empty SENDGRID_API_KEY as unset', () => {
    expect(loadConfig({ SENDGRID_API_KEY: '' }).SENDGRID_API_KEY).toBeUndefined();
  });

  it('names the variable and says what a good value looks like', () => {
    expect(() => loadConfig({ SENDGRID_BASE_URL: 'api.sendgrid.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ SENDGRID_BASE_URL: 'api.sendgrid.com' })).toThrow(/SENDGRID_BASE_URL: expected an http\(s\) URL such as https:\/\/api\.sendgrid\.com/);
  });
});
