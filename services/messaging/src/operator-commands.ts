import { parseArgs } from 'node:util';
import { UsageError, type CommandContext } from '@lifecycle/kit/command';
import { liftConsent } from './consent-lift.ts';
import { formatAge, parseAge } from './domain/doubtful-release.ts';
import { withDoubtfulSends } from './doubtful-sends.ts';

// Messaging owns consent and the sends: these commands run its code against its database.

/** `consent:lift <customer id | email>`: lifts a hard bounce or spam complaint; exit 1 when messaging knows neither. */
export async function consentLiftCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  const [target] = positionals;
  if (target === undefined || positionals.length !== 1) throw new UsageError('consent:lift needs one customer id or email address');
  const result = await liftConsent({ env, target });
  if (result.customers.length === 0 && result.addressSuppressionsRemoved === 0) {
    say(`messaging knows no customer or suppression for ${target}; nothing lifted`);
    return 1;
  }
  for (const c of result.customers) say(`${c.customerId}: ${c.lifted ? 'lifted' : 'nothing to lift'}, now ${c.state ?? 'no consent recorded'}`);
  if (result.addressSuppressionsRemoved > 0) say(`address-level bounce/spam suppressions removed: ${result.addressSuppressionsRemoved}`);
  return 0;
}

function ageOption(text: string, option: string): number {
  const age = parseAge(text);
  if (!age.ok) throw new UsageError(`${option}: ${age.reason}`);
  return age.ms;
}

/** `messages:doubtful [--older-than AGE]`: doubtful sends SendGrid's webhook has not settled, oldest first. */
export async function doubtfulListCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'older-than': { type: 'string', default: '1h' } }, strict: true });
  if (positionals.length > 0) throw new UsageError('messages:doubtful takes no arguments besides --older-than');
  const olderThan = values['older-than'];
  const olderThanMs = ageOption(olderThan, '--older-than');
  const now = new Date();
  const listed = await withDoubtfulSends({ env, now: () => now }, (d) => d.list(olderThanMs));
  for (const s of listed) {
    const state = s.status === 'doubtful' ? `doubtful for ${formatAge(now.getTime() - s.since.getTime())}` : 'released, not taken up yet (is messaging running?); releasing it again publishes its request once more';
    const note = s.releasable ? '' : ' (no stored request: cannot be released)';
    process.stdout.write(`${s.dedupeKey}  customer ${s.customerId}  campaign ${s.campaignId}  ${state}${note}\n`);
  }
  say(`${listed.length} doubtful send${listed.length === 1 ? '' : 's'} unsettled for at least ${olderThan}; release with ./lifecycle messages:release-doubtful <dedupe key> or --all-older-than ${olderThan}`);
  return 0;
}

/** `messages:release-doubtful <dedupe key> | --all-older-than AGE`: one more try; exit 1 when one was not released. */
export async function doubtfulReleaseCommand(args: string[], { say, env }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'all-older-than': { type: 'string' } }, strict: true });
  const allOlderThan = values['all-older-than'];
  const [dedupeKey] = positionals;
  if ((allOlderThan === undefined) === (dedupeKey === undefined) || positionals.length > 1) {
    throw new UsageError('messages:release-doubtful needs one dedupe key or --all-older-than AGE');
  }
  const target = dedupeKey !== undefined ? { dedupeKey } : { olderThanMs: ageOption(allOlderThan ?? '', '--all-older-than') };
  const outcomes = await withDoubtfulSends({ env }, (d) => d.release(target));
  for (const o of outcomes) say(o.released ? `${o.dedupeKey}: released, messages.requested published${o.republished ? ' again' : ''}; messaging sends it` : `${o.dedupeKey}: not released: ${o.reason}`);
  const released = outcomes.filter((o) => o.released).length;
  if (dedupeKey === undefined) say(`${released} of ${outcomes.length} doubtful send${outcomes.length === 1 ? '' : 's'} released`);
  return outcomes.every((o) => o.released) ? 0 : 1;
}
