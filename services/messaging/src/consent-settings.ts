import { ConsentSettings } from '@lifecycle/contracts';
import { readSettingsFile } from './settings-file.ts';

/** No `_consent.yaml`: no topics to choose from, no double opt-in. */
export const noConsentSettings: ConsentSettings = ConsentSettings.parse({});

/**
 * Reads `_consent.yaml` (the preference center's topics, double opt-in); no file: the defaults.
 * A mistake stops start-up, naming the file and the field.
 */
export function loadConsentSettings(file: string): ConsentSettings {
  return readSettingsFile(file, ConsentSettings, noConsentSettings);
}

/** A topic's text in the customer's language (`ja`, `ja-JP`), else English. */
export function localized(text: Record<string, string> | undefined, lang: string): string {
  if (text === undefined) return '';
  return text[lang] ?? text[lang.split('-')[0] ?? ''] ?? text.en ?? '';
}
