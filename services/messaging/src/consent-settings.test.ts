import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@lifecycle/kit';
import { loadConsentSettings, localized } from './consent-settings.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifecycle-consent-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('_consent.yaml', () => {
  it('reads the shipped file: four topics in English and Japanese, no double opt-in', () => {
    const settings = loadConsentSettings(join(import.meta.dirname, '..', '..', '..', 'campaigns', '_consent.yaml'));
    expect(settings.topics.map((t) => t.id)).toEqual(['offers', 'product-news', 'reviews-and-surveys', 'anniversaries']);
    for (const topic of settings.topics) expect(Object.keys(topic.label).sort()).toEqual(['en', 'ja']);
    expect(settings.doubleOptIn).toEqual({ all: false, countries: [] });
  });

  it('means no topics and no double opt-in when the file is missing', () => {
    expect(loadConsentSettings(join(dir, 'missing.yaml'))).toEqual({ topics: [], doubleOptIn: { all: false, countries: [] } });
  });

  it('stops start-up naming the file and the field of a mistake', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'topics:\n  - id: offers\n    label: { en: Offers }\ndoubleOptIn: { countries: [de] }\n');
    expect(() => loadConsentSettings(file)).toThrow(ConfigError);
    expect(() => loadConsentSettings(file)).toThrow(`${file}: doubleOptIn.countries.0: an ISO 3166-1 alpha-2 code in capitals, such as DE`);
  });

  it('gives a topic’s text in the customer’s language, else English', () => {
    expect(localized({ en: 'Offers', ja: '割引' }, 'ja')).toBe('割引');
    expect(localized({ en: 'Offers' }, 'ja')).toBe('Offers');
  });
});
