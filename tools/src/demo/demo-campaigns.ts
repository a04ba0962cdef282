import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The campaigns a demo's own stack runs: a copy of the store's campaigns folder with measurement
 * turned on (docs/measurement-and-consent.md), so the demo shows what the shipped files leave off:
 * a programme control group, holdouts on a few marketing campaigns, and sunset. The repository's
 * files stay as they are; the copy is written afresh at every start.
 */

export interface DemoMeasurement {
  /** Share of customers in the programme's control group (no marketing mail at all). */
  globalControlPercent: number;
  /** Share of each holdout campaign's eligible customers held out. */
  holdoutPercent: number;
  /** The marketing campaigns that hold customers out (those missing from the folder are left alone). */
  holdoutCampaigns: readonly string[];
  /** Sunset: no open or click for `after`, then none within `grace` of the re-permission mail. */
  sunset: { after: string; grace: string; campaign: string };
}

export const demoMeasurement: DemoMeasurement = {
  globalControlPercent: 5,
  holdoutPercent: 10,
  holdoutCampaigns: ['win-back-at-risk', 'cross-sell', 'cart-abandonment'],
  sunset: { after: 'P120D', grace: 'P14D', campaign: 're-permission' },
};

/**
 * `text` (a YAML file) with the top-level `key` set to `value` (one line of YAML, a flow map):
 * the key's own lines, and those indented under it, are taken out and the new line added at the
 * end, so a key the file already has (`globalControl: { percent: 0 }`) is replaced rather than
 * given twice. Comments stay.
 */
export function withTopLevelKey(text: string, key: string, value: string): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  let inKey = false;
  for (const line of lines) {
    if (new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`).test(line)) {
      inKey = true;
      continue;
    }
    // Lines indented under the key belong to it; the next line at the margin does not.
    if (inKey && /^[ \t]/.test(line)) continue;
    inKey = false;
    kept.push(line);
  }
  const body = kept.join('\n').replace(/\n*$/, '\n');
  return `${body}${key}: ${value}\n`;
}

/** What a stack needs to run the copy: its campaigns folder and the settings files in it. */
export interface DemoCampaigns {
  dir: string;
  /** The service settings that point at the copy (CAMPAIGNS_DIR, and the coupon and consent files when the folder has them). */
  env: Record<string, string>;
  /** Campaigns given a holdout. */
  holdouts: string[];
  /** Whether sunset is on: only when the folder has the re-permission campaign it names. */
  sunset: boolean;
}

/**
 * Copies `source` (a campaigns folder) to `target`, emptied first, with `measurement` written into
 * the copy's `_settings.yaml` and holdout campaigns. Sunset needs its re-permission campaign: a
 * folder without one (an older store) gets no sunset rather than a stack that refuses to start.
 */
export function writeDemoCampaigns(source: string, target: string, measurement: DemoMeasurement = demoMeasurement): DemoCampaigns {
  if (!existsSync(join(source, '_settings.yaml'))) throw new Error(`${source} is no campaigns folder: it has no _settings.yaml`);
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, { recursive: true });
  const settingsFile = join(target, '_settings.yaml');
  let settings = withTopLevelKey(readFileSync(settingsFile, 'utf8'), 'globalControl', `{ percent: ${measurement.globalControlPercent} }`);
  const sunset = existsSync(join(target, `${measurement.sunset.campaign}.yaml`));
  if (sunset) settings = withTopLevelKey(settings, 'sunset', `{ after: ${measurement.sunset.after}, grace: ${measurement.sunset.grace}, campaign: ${measurement.sunset.campaign} }`);
  writeFileSync(settingsFile, `# Written by ./lifecycle demo from ${source}: measurement turned on for the demo.\n${settings}`);
  const holdouts: string[] = [];
  for (const id of measurement.holdoutCampaigns) {
    const file = join(target, `${id}.yaml`);
    if (!existsSync(file)) continue;
    writeFileSync(file, withTopLevelKey(readFileSync(file, 'utf8'), 'holdout', `{ percent: ${measurement.holdoutPercent} }`));
    holdouts.push(id);
  }
  const env: Record<string, string> = { CAMPAIGNS_DIR: target };
  // Messaging reads these beside the repository's campaigns unless told otherwise.
  if (existsSync(join(target, '_coupons.yaml'))) env['COUPONS_FILE'] = join(target, '_coupons.yaml');
  if (existsSync(join(target, '_consent.yaml'))) env['CONSENT_FILE'] = join(target, '_consent.yaml');
  return { dir: target, env, holdouts, sunset };
}
