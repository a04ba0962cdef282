import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './kafka-broker.ts';

const lifecycle = (...args: string[]) => promisify(execFile)(process.execPath, [join(repoRoot, 'tools', 'src', 'cli.ts'), ...args], { cwd: repoRoot });

describe('./lifecycle, re-exporting the services’ commands', () => {
  it('lists every service’s commands in its help', async () => {
    const { stdout } = await lifecycle('help');
    for (const command of ['templates:check', 'templates:preview', 'templates:send-test', 'consent:lift', 'messages:doubtful', 'messages:release-doubtful', 'campaigns:check', 'classifier:rebuild']) {
      expect(stdout).toMatch(new RegExp(`^  ${command}`, 'm'));
    }
  });

  it('answers an unknown command, and a service command called wrongly, with exit code 2 and the usage', async () => {
    await expect(lifecycle('no-such-command')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^lifecycle: unknown command no-such-command\n\nUsage: \.\/lifecycle/) });
    // Messaging's own usage error, before it touches the database or the broker.
    await expect(lifecycle('consent:lift')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^lifecycle: consent:lift needs one customer id or email address\n/) });
  });

  it('checks the campaign files with the scheduler and their templates with messaging', async () => {
    const { stdout } = await lifecycle('campaigns:check');
    expect(stdout).toContain('lifecycle: ok cross-sell\n');
    expect(stdout).toMatch(/lifecycle: 17 campaign\(s\) checked in .*campaigns\n$/);
  });

  it('loads every module a command imports when it runs, under plain node (no test runner’s module interop)', async () => {
    // A named import node cannot link (e.g. a class from a CommonJS package) fails only when the
    // command that imports it runs; vitest's interop would hide it.
    const cli = readFileSync(join(repoRoot, 'tools', 'src', 'cli.ts'), 'utf8');
    const lazy = [...new Set([...cli.matchAll(/await import\('(\.\/[^']+)'\)/g)].map((m) => m[1] ?? ''))];
    expect(lazy).toContain('./demo/demo-stack.ts');
    const script = lazy.map((path) => `await import(${JSON.stringify(join(repoRoot, 'tools', 'src', path))});`).join('\n');
    await expect(promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot })).resolves.toMatchObject({ stderr: '' });
  });
});
