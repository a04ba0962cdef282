import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');
/** The package's bin, run from its folder as in a container image. */
const scheduler = (...args: string[]) => promisify(execFile)(process.execPath, [join(packageDir, 'src', 'cli.ts'), ...args], { cwd: packageDir });

describe('lifecycle-scheduler, the scheduler’s own command line', () => {
  it('checks the campaign files alone, and says the templates are messaging’s to check', async () => {
    const { stdout } = await scheduler('campaigns:check');
    expect(stdout).toContain('scheduler: ok birthday\n');
    expect(stdout).toContain('campaign(s) checked in');
    expect(stdout).toContain('their templates are checked by messaging');
  });

  it('exits 1 naming file, line and field of a mistake', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scheduler-cli-'));
    try {
      await writeFile(join(dir, 'win-back.yaml'), 'id: win-back\nname: Win-back\ntemplate: win-back-at-risk\ncategory: marketing\ntrigger:\n  stage: { entered: at_rsk }\n');
      await expect(scheduler('campaigns:check', '--dir', dir)).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining(`${join(dir, 'win-back.yaml')}:6: trigger.stage.entered:`) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers an unknown command with exit code 2 and its usage', async () => {
    await expect(scheduler('templates:check')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('Usage: lifecycle-scheduler') });
  });
});
