import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { CurrencyConfigFile, ratesFromConfig, type CurrencyRates } from '@lifecycle/contracts';
import { ConfigError } from '@lifecycle/kit';

/**
 * The store's exchange rates, from the one place they are configured: `currencies` in
 * config/lifecycle.yaml (`LIFECYCLE_CONFIG`, shared with the classifier, which checks the rest of
 * the file). Undefined when none are given: amounts in different currencies are then never
 * compared or added. A mistake stops start-up with the file and field named.
 */
export async function loadCurrencyRates(file: string): Promise<CurrencyRates | undefined> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read the currency rates in ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = CurrencyConfigFile.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${file}: ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new ConfigError(`invalid currency rates:\n${lines.join('\n')}`);
  }
  const rates = ratesFromConfig(result.data);
  if (!rates.ok) throw new ConfigError(`${file}: ${rates.message}`);
  return rates.value;
}
