import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '@lifecycle/kit';
import { ConsentSettings } from '@lifecycle/contracts';

/** No `_consent.yaml`: no topics to choose from, no double opt-in. */
export const noConsentSettings: ConsentSettings = ConsentSettings.parse({});

/**
 * Reads `_consent.yaml` (the preference center's topics, double opt-in); no file: the defaults.
 * A mistake stops start-up, naming the file and the field.
 */
export function loadConsentSettings(file: string): ConsentSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return noConsentSettings;
    throw err;
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = ConsentSettings.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** A topic's text in the customer's language (`ja`, `ja-JP`), else English. */
export function localized(text: Record<string, string> | undefined, lang: string): string {
  if (text === undefined) return '';
  return text[lang] ?? text[lang.split('-')[0] ?? ''] ?? text.en ?? '';
}
