import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..', '..');

/** The rules `eslint .` (the lint step of ./lifecycle test) reports for this text at that path. */
async function violations(file: string, text: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: repoRoot });
  const [result] = await eslint.lintText(text, { filePath: join(repoRoot, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('each service stands on its own', () => {
  it('fails lint when a service imports another service’s source by path', async () => {
    const found = await violations('services/scheduler/test/x.test.ts', "import { createTemplateCatalog } from '../../messaging/src/template-catalog.ts';\nexport { createTemplateCatalog };\n");
    expect(found).toEqual([expect.stringMatching(/^no-restricted-imports: .*services\/scheduler must not reach into another service's folder/)]);
  });

  it('fails lint when tools import a service’s source, statically or with import()', async () => {
    const found = await violations(
      'tools/src/x.ts',
      "export { loadConfig } from '../../services/messaging/src/config.ts';\nexport const lift = () => import('../../services/messaging/src/consent-lift.ts');\n",
    );
    expect(found).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*tools must not reach into a service's folder/),
      expect.stringMatching(/^no-restricted-syntax: tools must not reach into a service's folder/),
    ]);
  });

  it('lets a service import its own files and another service through its package exports', async () => {
    const text = "import { createTemplateCatalog } from '@lifecycle/messaging/templates';\nimport { loadConfig } from '../src/config.ts';\nexport const lazy = () => import('../src/app.ts');\nexport { createTemplateCatalog, loadConfig };\n";
    expect(await violations('services/scheduler/test/x.test.ts', text)).toEqual([]);
  });
});
