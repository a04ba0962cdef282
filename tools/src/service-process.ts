import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './kafka-broker.ts';

/** One service running as its own process, for end-to-end tests. */
export interface ServiceProcess {
  name: string;
  url: string;
  /** Everything the process printed, for the failure message of a test. */
  output: () => string;
  /** SIGTERM, then the exit code (null when it had to be killed after the deadline). */
  stop: (deadlineMs?: number) => Promise<number | null>;
  /** SIGKILL: a crash, with no chance to finish anything. */
  kill: () => Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** How a service process is started; by default from the repository root, with this process's environment. */
export interface SpawnOptions {
  /** `package`: from `services/<name>`, as `node src/main.ts`, the way a service's own package or image runs it. */
  cwd?: 'repository' | 'package';
  /** `only-given`: none of this process's environment, only `env` (and PORT, HOST). */
  environment?: 'inherit' | 'only-given';
}

/**
 * Starts `services/<name>/src/main.ts` with the same Node binary and returns at once, before it
 * listens (a restart test measures how soon it answers).
 */
export async function spawnServiceProcess(name: string, env: Record<string, string>, opts: SpawnOptions = {}): Promise<ServiceProcess & { exitCode: () => number | null }> {
  const port = await freePort();
  const packageDir = join(repoRoot, 'services', name);
  const fromPackage = opts.cwd === 'package';
  const child: ChildProcess = spawn(process.execPath, [fromPackage ? join('src', 'main.ts') : join(packageDir, 'src', 'main.ts')], {
    cwd: fromPackage ? packageDir : repoRoot,
    env: { ...(opts.environment === 'only-given' ? {} : process.env), ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exitCode: () => child.exitCode,
    stop: async (deadlineMs = 10_000) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts `services/<name>/src/main.ts` with the same Node binary and waits for `/readyz`. */
export async function startServiceProcess(name: string, env: Record<string, string>, readyTimeoutMs = 60_000, opts: SpawnOptions = {}): Promise<ServiceProcess> {
  const service = await spawnServiceProcess(name, env, opts);
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const code = service.exitCode();
    if (code !== null) throw new Error(`${name} exited with ${code} before it was ready:\n${service.output()}`);
    try {
      if ((await fetch(`${service.url}/readyz`)).status === 200) return service;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await service.stop();
  throw new Error(`${name} was not ready within ${readyTimeoutMs} ms:\n${service.output()}`);
}
