import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { serviceNames, wiring } from '@lifecycle/contracts';

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const dclint = join(root, 'node_modules', 'dclint', 'bin', 'dclint.cjs');

/** dclint checks a compose file against the Compose Specification's JSON schema, no Docker engine needed. */
async function lintCompose(file: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [dclint, file, '--quiet', '--color', 'false'], { cwd: root });
    return { code: 0, output: stdout };
  } catch (err) {
    const failed = z.object({ code: z.number(), stdout: z.string() }).parse(err);
    return { code: failed.code, output: failed.stdout };
  }
}

const Compose = z.object({
  services: z.record(z.string(), z.object({ build: z.object({ context: z.string(), dockerfile: z.string(), args: z.record(z.string(), z.string()).optional() }).optional(), environment: z.record(z.string(), z.unknown()).optional() })),
});

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification', async () => {
    const result = await lintCompose('docker-compose.yml');
    expect(result.output).not.toMatch(/error/);
    expect(result.code).toBe(0);
  });

  it('is refused when it is not (the check can fail)', async () => {
    const broken = readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace('stop_grace_period: 12s', 'stop_grace_period: 12s\n  restart_policy: always');
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    writeFileSync(join(dir, 'docker-compose.yml'), broken);
    const result = await lintCompose(join(dir, 'docker-compose.yml'));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/additional properties/);
  });

  it.each(serviceNames)('builds %s from the services\' Dockerfile, named by its build argument, on its own port', (service) => {
    const compose = Compose.parse(parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }));
    const entry = compose.services[service];
    expect(entry?.build).toEqual({ context: '.', dockerfile: 'services/Dockerfile', args: { SERVICE: service } });
    expect(entry?.environment?.PORT).toBe(String(wiring[service].port));
  });
});

describe('services/Dockerfile', () => {
  const text = readFileSync(join(root, 'services', 'Dockerfile'), 'utf8');
  const instructions = text.split('\n').filter((line) => /^[A-Z]+ /.test(line));
  const stages = instructions.filter((line) => line.startsWith('FROM '));
  const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1) ?? ''));

  it('builds in one stage and runs from Node 24 slim in another, as a user who is not root, from the service\'s package directory', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.at(-1)).toBe('FROM node:24-slim');
    expect(runtime.filter((line) => line.startsWith('USER '))).toEqual(['USER node']);
    expect(runtime).toContain('WORKDIR /app/services/${SERVICE}');
    expect(runtime.at(-1)).toBe('CMD ["node", "src/main.ts"]');
  });

  it.each(serviceNames)('gives %s what it needs at start: its main.ts and the folders it reads', (service) => {
    expect(text).toContain('--prod --filter "@lifecycle/${SERVICE}..."');
    expect(existsSync(join(root, 'services', service, 'src', 'main.ts'))).toBe(true);
    const copied = (/cp -r ([a-z ]+) \/files\//.exec(text)?.[1] ?? '').split(' ');
    expect(copied).toEqual(['templates', 'campaigns', 'config']);
    for (const folder of copied) expect(existsSync(join(root, folder)), folder).toBe(true);
  });
});
