import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@lifecycle/kit';
import { loadCurrencyRates } from './currency-rates-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scheduler-rates-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The store's config/lifecycle.yaml, whose other sections are the classifier's (the scheduler ignores them). */
const configFile = async (tail: string): Promise<string> => {
  const file = join(dir, `lifecycle-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, `atRisk: { medianGapFactor: 1.5, defaultRepurchaseDays: 60 }\nlapsed: { factor: 3 }\nrfm:\n  intervalHours: 24\n${tail}`);
  return file;
};

describe('the store’s exchange rates, read from the file the classifier shares', () => {
  it('are the top-level currencies', async () => {
    expect(await loadCurrencyRates(await configFile('currencies: { base: EUR, rates: { JPY: 0.0062 } }\n'))).toEqual({ base: 'EUR', rates: { JPY: 0.0062 } });
  });

  it('are read from the older rfm.currencies too, and refused when given in both places', async () => {
    expect(await loadCurrencyRates(await configFile('  currencies: { base: EUR, rates: { JPY: 0.0062 } }\n'))).toEqual({ base: 'EUR', rates: { JPY: 0.0062 } });
    const both = await configFile('  currencies: { base: EUR }\ncurrencies: { base: EUR }\n');
    const error = await loadCurrencyRates(both).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain(`${both}: rates are given twice`);
  });

  it('stop start-up on a bad rate, naming the file and the field', async () => {
    const file = await configFile('currencies: { base: EUR, rates: { YEN: 0.0062 } }\n');
    await expect(loadCurrencyRates(file)).rejects.toThrow(`${file}: currencies.rates.YEN: not an ISO 4217 currency code`);
  });

  it('are absent from the shipped file: nothing is converted', async () => {
    expect(await loadCurrencyRates(join(import.meta.dirname, '..', '..', '..', 'config', 'lifecycle.yaml'))).toBeUndefined();
  });
});
