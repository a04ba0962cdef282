import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './kafka-broker.ts';

export const consoleDir = join(repoRoot, 'services', 'console');

/** The newest modification time under `dir` (node_modules left out), 0 when it is empty. */
export function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Why the built web app must be built again, or undefined when it is up to date (or has no sources). */
export function webBuildNeeded(dir = consoleDir): 'missing' | 'older than web/' | undefined {
  const web = join(dir, 'web');
  if (!existsSync(web)) return undefined;
  const built = join(dir, 'dist', 'web', 'index.html');
  if (!existsSync(built)) return 'missing';
  return statSync(built).mtimeMs < newestChange(web) ? 'older than web/' : undefined;
}

/**
 * Builds the console's web app (`vite build web`, into services/console/dist/web) when it is
 * missing or older than its sources, saying so. A failed build is reported, not fatal: the console
 * then serves a page saying how to build it.
 */
export async function ensureConsoleWeb(say: (line: string) => void, dir = consoleDir): Promise<'built' | 'up to date' | 'no sources' | 'failed'> {
  if (!existsSync(join(dir, 'web'))) {
    say('services/console/web does not exist yet: the console will answer with a page saying how to build its app');
    return 'no sources';
  }
  const reason = webBuildNeeded(dir);
  if (reason === undefined) return 'up to date';
  say(`building the console's web app (services/console/dist/web is ${reason}): vite build web …`);
  const vite = join(dir, 'node_modules', 'vite', 'bin', 'vite.js');
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [vite, 'build', 'web'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', (err) => resolve({ code: 1, output: `${text}\n${err.message}` }));
    child.once('exit', (exit) => resolve({ code: exit, output: text }));
  });
  if (code === 0) {
    say(`built the console's web app in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 'built';
  }
  say(`the console's web app did not build (exit ${code ?? 'by signal'}); the console starts anyway and says how to build it:`);
  for (const line of output.trim().split('\n').slice(-15)) say(`  ${line}`);
  return 'failed';
}
