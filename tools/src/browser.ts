import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The browser the console's browser test drives: Debian's Chromium (playwright-core cannot
 * download its own here). `CHROMIUM_PATH` names another.
 */
const candidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium executable, or undefined when none is installed. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH !== undefined && env.CHROMIUM_PATH !== '') return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return candidates.find((path) => existsSync(path));
}

/** The Chromium executable; throws saying how to install one when there is none. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = findChromium(env);
  if (path === undefined) throw new Error(`no Chromium found (${env.CHROMIUM_PATH ?? candidates.join(', ')}): install it with "apt-get install chromium fonts-noto-cjk", or set CHROMIUM_PATH`);
  return path;
}

/**
 * Installs Debian's Chromium (and CJK fonts, or Japanese renders as boxes) when it is missing and
 * this process may run apt-get, as `./lifecycle test` fetches the Kafka jars. Says what it did.
 */
export function ensureChromium(say: (line: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  if (findChromium(env) !== undefined) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    say('no Chromium for the console’s browser test: install it with "apt-get install chromium fonts-noto-cjk" (or set CHROMIUM_PATH)');
    return;
  }
  say('installing Chromium for the console’s browser test (apt-get install chromium fonts-noto-cjk; first run only)');
  const run = (args: string[]) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  let result = run(['install', '-y', '--no-install-recommends', 'chromium', 'fonts-noto-cjk']);
  if (result.status !== 0) {
    run(['update']);
    result = run(['install', '-y', '--no-install-recommends', 'chromium', 'fonts-noto-cjk']);
  }
  if (result.status !== 0 || findChromium(env) === undefined) say('Chromium could not be installed: the console’s browser test will fail (see apt-get’s output above)');
}
