import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withGeneratedWiring } from '@lifecycle/contracts';

/** `pnpm docs:wiring`: rewrites the README's wiring table and diagram from the catalog. */
for (const file of ['README.md', join('docs', 'architecture.md')]) {
  const path = join(import.meta.dirname, '..', '..', file);
  const before = readFileSync(path, 'utf8');
  const after = withGeneratedWiring(before);
  if (after !== before) writeFileSync(path, after);
  console.log(`${file}: ${after === before ? 'up to date' : 'rewritten'}`);
}
