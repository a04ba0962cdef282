import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@lifecycle/kit';
import { shippedThresholds } from '../test/thresholds.ts';
import { currencyRates } from './domain/thresholds.ts';
import { loadThresholds } from './thresholds-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'classifier-thresholds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const thresholdsFile = async (rfm: string): Promise<string> => {
  const file = join(dir, `lifecycle-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    file,
    `atRisk: { medianGapFactor: 1.5, defaultRepurchaseDays: 60 }
lapsed: { factor: 3 }
advocacy: { minNps: 9, minReviewRating: 4 }
historicalHorizonDays: 7
rfm:
${rfm}`,
  );
  return file;
};

// The scheduler reads its rates from the same file by the shared contract (CurrencyConfigFile);
// services/scheduler/src/currency-rates-file.test.ts reads the same files on its side.
describe('the store’s exchange rates, in one place', () => {
  it('are read from the top-level currencies', async () => {
    const file = await thresholdsFile('  intervalHours: 24\ncurrencies: { base: EUR, rates: { JPY: 0.0062 } }\n');
    expect(currencyRates(await loadThresholds(file))).toEqual({ base: 'EUR', rates: { JPY: 0.0062 } });
  });

  it('are read from the older rfm.currencies too, and refused when given in both places', async () => {
    const old = await thresholdsFile('  intervalHours: 24\n  currencies: { base: EUR, rates: { JPY: 0.0062 } }\n');
    expect(currencyRates(await loadThresholds(old))).toEqual({ base: 'EUR', rates: { JPY: 0.0062 } });
    const both = await thresholdsFile('  intervalHours: 24\n  currencies: { base: EUR }\ncurrencies: { base: EUR }\n');
    await expect(loadThresholds(both)).rejects.toThrow(`${both}: rfm.currencies: rates are given twice`);
  });

  it('are absent from the shipped file: nothing is converted', async () => {
    const shipped = join(import.meta.dirname, '..', '..', '..', 'config', 'lifecycle.yaml');
    expect(currencyRates(await loadThresholds(shipped))).toBeUndefined();
  });
});

describe('loadThresholds', () => {
  it('reads the shipped file as the values the tests take for it', async () => {
    expect(await loadThresholds(join(import.meta.dirname, '..', '..', '..', 'config', 'lifecycle.yaml'))).toEqual(shippedThresholds);
  });

  it('reads exchange rates for monetary scores', async () => {
    const file = await thresholdsFile('  intervalHours: 24\n  currencies: { base: EUR, rates: { JPY: 0.0062, USD: 0.92 } }\n');
    expect((await loadThresholds(file)).rfm.currencies).toEqual({ base: 'EUR', rates: { JPY: 0.0062, USD: 0.92 } });
  });

  it('stops start-up on a bad rate, naming the file and the field', async () => {
    const file = await thresholdsFile('  intervalHours: 24\n  currencies: { base: EUR, rates: { JPY: -1 } }\n');
    const error = await loadThresholds(file).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain(`${file}: rfm.currencies.rates.JPY: Too small: expected number to be >0`);
  });

  it('stops start-up on a rate for something that is not a currency', async () => {
    const file = await thresholdsFile('  intervalHours: 24\n  currencies: { base: EUR, rates: { YEN: 0.0062 } }\n');
    await expect(loadThresholds(file)).rejects.toThrow(`${file}: rfm.currencies.rates.YEN: not an ISO 4217 currency code`);
  });
});
