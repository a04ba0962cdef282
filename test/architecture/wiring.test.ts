import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serviceNames, topicKeys, wiring, withGeneratedWiring, wiringMarkers, type TopicKey } from '@lifecycle/contracts';

const root = join(import.meta.dirname, '..', '..');
const keys = topicKeys.join('|');
const consumed = new RegExp(`\\btopic:\\s*'(${keys})'`, 'g');
const produced = new RegExp(`\\b(?:enqueue|publish)\\([^;]*?'(${keys})'|\\btopicName\\([^)]*'(${keys})'\\)`, 'g');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The topics a service's source consumes (`topic: '<key>'`) and publishes (`enqueue`/`publish`/`topicName`). */
function topicsInSource(service: string): { consumes: TopicKey[]; produces: TopicKey[] } {
  const consumes = new Set<TopicKey>();
  const produces = new Set<TopicKey>();
  for (const file of sourceFiles(join(root, 'services', service, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(consumed)) consumes.add(m[1] as TopicKey);
    for (const m of text.matchAll(produced)) produces.add((m[1] ?? m[2]) as TopicKey);
  }
  return { consumes: [...consumes].sort(), produces: [...produces].sort() };
}

describe('the wiring catalog (packages/contracts/src/wiring.ts)', () => {
  it.each(serviceNames)('matches what %s consumes and publishes in its source', (service) => {
    const declared = wiring[service];
    expect(topicsInSource(service), `services/${service}/src disagrees with the wiring catalog`).toEqual({
      consumes: [...declared.consumes].sort(),
      produces: [...declared.produces].sort(),
    });
  });

  it.each(serviceNames)('names the schema and default port %s really uses', (service) => {
    const schemaSource = readFileSync(join(root, 'services', service, 'src', 'db', 'schema.ts'), 'utf8');
    const schemas = [...schemaSource.matchAll(/pgSchema\('([a-z_]+)'\)/g)].map((m) => m[1]);
    expect(schemas).toEqual([wiring[service].schema]);
    const config = readFileSync(join(root, 'services', service, 'src', 'config.ts'), 'utf8');
    expect(config).toMatch(new RegExp(`PORT: [^\\n]*\\.default\\(${wiring[service].port}\\)`));
  });

  it.each(['README.md', 'docs/architecture.md'])('is what %s shows (run `pnpm docs:wiring` after changing it)', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    expect(text).toContain(wiringMarkers.diagramStart);
    expect(withGeneratedWiring(text) === text, `${file}: the wiring table or diagram is out of date, run pnpm docs:wiring`).toBe(true);
  });
});
