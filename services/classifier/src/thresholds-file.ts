import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ConfigError } from '@lifecycle/kit';
import { Thresholds } from './domain/thresholds.ts';

/** Reads config/lifecycle.yaml; a mistake stops start-up with the file and field named. */
export async function loadThresholds(file: string): Promise<Thresholds> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read the classifier thresholds ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = Thresholds.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${file}: ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new ConfigError(`invalid classifier thresholds:\n${lines.join('\n')}`);
  }
  return result.data;
}
