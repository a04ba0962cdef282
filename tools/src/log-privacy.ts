/**
 * Checks what services printed for a customer's address or name: the rule that no personal data
 * reaches logs above debug, tested on real runs. An address is also looked for URL-encoded and
 * in base64/base64url (the old unsubscribe tokens were the address in base64url).
 */

export interface PersonalData {
  emails: string[];
  names: string[];
}

export interface LogLeak {
  /** What was found (the address or name as given). */
  found: string;
  line: string;
}

export interface LogCheck {
  /** Lines above debug, plus lines that are not pino JSON (their level is unknown). */
  checked: number;
  leaks: LogLeak[];
}

const DEBUG = 20;

function levelOf(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record: unknown = JSON.parse(line);
    if (typeof record === 'object' && record !== null && 'level' in record && typeof record.level === 'number') return record.level;
  } catch {
    // Not JSON: checked, as its level is unknown.
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function patternsFor(personal: PersonalData): { found: string; pattern: RegExp }[] {
  const emails = personal.emails.flatMap((email) => {
    const forms = new Set([email, email.toLowerCase(), encodeURIComponent(email), encodeURIComponent(email.toLowerCase())]);
    for (const form of [email, email.toLowerCase()]) {
      forms.add(Buffer.from(form).toString('base64url'));
      forms.add(Buffer.from(form).toString('base64').replace(/=+$/, ''));
    }
    return [...forms].map((form) => ({ found: email, pattern: new RegExp(escapeRegExp(form), 'i') }));
  });
  // A name as a word of its own, in any case: "Mia" but not "Miami".
  const names = personal.names.map((name) => ({ found: name, pattern: new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(name)}(?![\\p{L}\\p{N}])`, 'iu') }));
  return [...emails, ...names];
}

/** The lines above debug (and the non-JSON ones) that mention one of the addresses or names. */
export function findPersonalData(output: string | string[], personal: PersonalData): LogCheck {
  const lines = (Array.isArray(output) ? output.join('\n') : output).split('\n').filter((line) => line.trim() !== '');
  const patterns = patternsFor(personal);
  const leaks: LogLeak[] = [];
  let checked = 0;
  for (const line of lines) {
    const level = levelOf(line.trim());
    if (level !== undefined && level <= DEBUG) continue;
    checked++;
    const hit = patterns.find((p) => p.pattern.test(line));
    if (hit !== undefined) leaks.push({ found: hit.found, line });
  }
  return { checked, leaks };
}

/**
 * Throws when a line above debug names one of the addresses or names, or when fewer than
 * `minLines` lines were there to check (a check of nothing proves nothing). Returns how many
 * lines were checked.
 */
export function assertNoPersonalData(output: string | string[], personal: PersonalData, opts: { minLines?: number } = {}): number {
  if (personal.emails.length + personal.names.length === 0) throw new Error('assertNoPersonalData needs at least one address or name to look for');
  const { checked, leaks } = findPersonalData(output, personal);
  const minLines = opts.minLines ?? 1;
  if (checked < minLines) throw new Error(`expected at least ${minLines} log lines above debug to check, found ${checked}`);
  if (leaks.length > 0) {
    const shown = leaks.slice(0, 5).map((l) => `  ${l.found} in: ${l.line.slice(0, 400)}`);
    throw new Error(`${leaks.length} of ${checked} log lines above debug contain personal data:\n${shown.join('\n')}`);
  }
  return checked;
}
