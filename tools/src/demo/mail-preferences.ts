import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { outboxFileName } from '@lifecycle/messaging';
import { decodeQuotedPrintable } from './mail-coupons.ts';
import type { Random } from './seeded-random.ts';

/**
 * A few demo customers change their preferences the way a reader would: they follow the "Manage
 * preferences" link in a marketing mail they opened (read from the `.eml` file the outbox
 * transport wrote), get messaging's preference page, and post its form with one change: a topic
 * left, or a frequency chosen. The page is messaging's own (docs/measurement-and-consent.md
 * section 3); the demo only fills it in.
 */

/** Share of the customers who, on the first marketing mail they open, change their preferences. */
export const PREFERENCE_CHANGERS = 0.05;

/** The preference link in a mail: the first link to `/preferences/<token>` (the HTML part's footer), or null. */
export function preferencesLinkIn(eml: string): string | null {
  const text = /quoted-printable/i.test(eml) ? decodeQuotedPrintable(eml) : eml;
  const found = /https?:\/\/[^\s"'<>]+\/preferences\/[A-Za-z0-9._~%-]+(?:\?[^\s"'<>]*)?/.exec(text)?.[0];
  return found === undefined ? null : found.replaceAll('&amp;', '&');
}

/** What a preference page's form shows: where it posts, the topics (ticked: still wanted), the frequency chosen, "unsubscribe from all". */
export interface PreferenceForm {
  action: string;
  topics: { id: string; checked: boolean }[];
  frequency: string | null;
  frequencies: string[];
  all: boolean;
}

const attribute = (tag: string, name: string): string | null => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1]?.replaceAll('&amp;', '&') ?? null;

/** The form of a preference page, or null when the page has none (a bad link shows a page without one). */
export function preferenceForm(html: string): PreferenceForm | null {
  const form = /<form[^>]*method="post"[^>]*>/i.exec(html)?.[0];
  const action = form === undefined ? null : attribute(form, 'action');
  if (action === null) return null;
  const inputs = html.match(/<input[^>]*>/gi) ?? [];
  const topics: PreferenceForm['topics'] = [];
  const frequencies: string[] = [];
  let frequency: string | null = null;
  let all = false;
  for (const input of inputs) {
    const name = attribute(input, 'name');
    const value = attribute(input, 'value') ?? '';
    const checked = /\schecked(?:[\s>=/]|$)/.test(input);
    if (name === 'topic') topics.push({ id: value, checked });
    else if (name === 'frequency') {
      frequencies.push(value);
      if (checked) frequency = value;
    } else if (name === 'all') all = checked;
  }
  return { action, topics, frequency, frequencies, all };
}

export type PreferenceChange = { kind: 'topic'; topic: string } | { kind: 'frequency'; frequency: string };

/** What a customer changes on the page: mostly one topic they still get, else how often (never "unsubscribe from all": the unsubscribe link does that). */
export function choosePreferenceChange(form: PreferenceForm, r: Random): PreferenceChange | null {
  const wanted = form.topics.filter((t) => t.checked).map((t) => t.id);
  const rarer = form.frequencies.filter((f) => f !== 'any' && f !== form.frequency);
  if (wanted.length > 0 && (rarer.length === 0 || r.chance(0.6))) return { kind: 'topic', topic: r.pick(wanted) };
  if (rarer.length > 0) return { kind: 'frequency', frequency: r.pick(rarer) };
  return null;
}

/** The form as the browser would post it with `change` made: every other choice as the page showed it. */
export function preferenceFormBody(form: PreferenceForm, change: PreferenceChange): URLSearchParams {
  const body = new URLSearchParams();
  for (const t of form.topics) if (t.checked && !(change.kind === 'topic' && change.topic === t.id)) body.append('topic', t.id);
  const frequency = change.kind === 'frequency' ? change.frequency : form.frequency;
  if (frequency !== null) body.append('frequency', frequency);
  if (form.all) body.append('all', 'yes');
  return body;
}

/** A customer's visit to the preference page from a mail; `messagingUrl` is where the demo reaches messaging (the link's host may be a public name). */
export async function changePreferencesFromMail(o: { outboxDir: string; dedupeKey: string; messagingUrl: string; r: Random }): Promise<{ ok: true; change: PreferenceChange } | { ok: false; why: string }> {
  let eml: string;
  try {
    eml = await readFile(join(o.outboxDir, outboxFileName(o.dedupeKey)), 'utf8');
  } catch {
    return { ok: false, why: 'no mail file' };
  }
  const link = preferencesLinkIn(eml);
  if (link === null) return { ok: false, why: 'no preferences link in the mail' };
  const url = new URL(link);
  const page = new URL(`${url.pathname}${url.search}`, o.messagingUrl);
  const shown = await fetch(page);
  if (!shown.ok) return { ok: false, why: `the preference page answered ${shown.status}` };
  const form = preferenceForm(await shown.text());
  if (form === null) return { ok: false, why: 'the preference page has no form' };
  const change = choosePreferenceChange(form, o.r);
  if (change === null) return { ok: false, why: 'nothing to change' };
  const saved = await fetch(new URL(form.action, page), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: preferenceFormBody(form, change).toString() });
  await saved.body?.cancel();
  return saved.ok ? { ok: true, change } : { ok: false, why: `saving answered ${saved.status}` };
}
