import { mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { webBuildNeeded } from './console-web.ts';
import { knownServiceToken, serviceAuthHeaders, stackConsolePassword, stackServiceToken } from './stack-secrets.ts';

describe("the stack's service token and console password", () => {
  it('generates the token once into a file only its owner can read, and hands the same one out again', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'stack-secrets-')), '.local');
    expect(knownServiceToken({}, dir)).toBeUndefined();
    const token = stackServiceToken({}, dir);
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(statSync(join(dir, 'service-token')).mode & 0o777).toBe(0o600);
    expect(stackServiceToken({}, dir)).toBe(token);
    expect(knownServiceToken({}, dir)).toBe(token);
    expect(serviceAuthHeaders(knownServiceToken({}, dir))).toEqual({ authorization: `Bearer ${token}` });
  });

  it('takes SERVICE_TOKEN and CONSOLE_PASSWORD from the environment over the files', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'stack-secrets-')), '.local');
    stackServiceToken({}, dir);
    expect(stackServiceToken({ SERVICE_TOKEN: 'from-the-environment-1234' }, dir)).toBe('from-the-environment-1234');
    expect(knownServiceToken({ SERVICE_TOKEN: 'from-the-environment-1234' }, dir)).toBe('from-the-environment-1234');
    expect(stackConsolePassword({ CONSOLE_PASSWORD: 'chosen by the operator' }, dir)).toMatchObject({ password: 'chosen by the operator', source: 'CONSOLE_PASSWORD' });
  });

  it('generates a console password the console accepts, once', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'stack-secrets-')), '.local');
    const first = stackConsolePassword({}, dir);
    expect(first).toMatchObject({ source: 'file', created: true });
    expect(first.password.length).toBeGreaterThanOrEqual(12);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(stackConsolePassword({}, dir)).toMatchObject({ password: first.password, created: false });
  });
});

describe("when the console's web app is built again", () => {
  it('builds when dist/web is missing or older than a file under web/, not otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-'));
    expect(webBuildNeeded(dir)).toBeUndefined(); // no sources
    mkdirSync(join(dir, 'web', 'src'), { recursive: true });
    writeFileSync(join(dir, 'web', 'src', 'main.tsx'), 'x');
    expect(webBuildNeeded(dir)).toBe('missing');
    mkdirSync(join(dir, 'dist', 'web'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'web', 'index.html'), '<!doctype html>');
    const now = Date.now() / 1000;
    utimesSync(join(dir, 'web', 'src', 'main.tsx'), now - 60, now - 60);
    utimesSync(join(dir, 'dist', 'web', 'index.html'), now - 30, now - 30);
    expect(webBuildNeeded(dir)).toBeUndefined();
    utimesSync(join(dir, 'web', 'src', 'main.tsx'), now, now);
    expect(webBuildNeeded(dir)).toBe('older than web/');
  });
});
