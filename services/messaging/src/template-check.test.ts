import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTemplates, formatProblem } from './template-check.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const templatesDir = join(repoRoot, 'templates');

describe('templates:check', () => {
  let broken: string;
  beforeAll(async () => {
    broken = await mkdtemp(join(tmpdir(), 'lifecycle-check-'));
    await cp(templatesDir, broken, { recursive: true });
    // A marketer's typo on line 3 of the Japanese text: the sample has no `order.totl`.
    await writeFile(join(broken, 'post-purchase-thank-you', 'ja', 'text.hbs'), 'こんにちは\n\n合計: {{{order.totl}}}\n');
  });
  afterAll(async () => {
    await rm(broken, { recursive: true, force: true });
  });

  it('passes every shipped template in every locale with its sample', async () => {
    const report = await checkTemplates(templatesDir);
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report.checked).toContainEqual({ templateId: 'post-purchase-thank-you', locales: ['en', 'ja'] });
  });

  it('names the file, line and locale of a variable the sample data does not provide', async () => {
    const report = await checkTemplates(broken);
    expect(report.problems.map(formatProblem)).toEqual([
      `${join(broken, 'post-purchase-thank-you', 'ja', 'text.hbs')}:3:8: [ja] text: "totl" is not in the sample data (sample.json)`,
    ]);
  });

  it('exits non-zero from ./lifecycle templates:check and prints where the problem is', async () => {
    const run = promisify(execFile)(process.execPath, [join(repoRoot, 'tools', 'src', 'cli.ts'), 'templates:check', '--dir', broken], { cwd: repoRoot });
    await expect(run).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('ja/text.hbs:3:8') });
    const ok = await promisify(execFile)(process.execPath, [join(repoRoot, 'tools', 'src', 'cli.ts'), 'templates:check'], { cwd: repoRoot });
    expect(ok.stdout).toContain('post-purchase-thank-you (en, ja)');
  });
});
