import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { outboxFileName } from '@lifecycle/messaging';

/**
 * The coupon codes in the demo customers' mail. Messaging assigns a code as it sends (the
 * `messages.requested` record the demo reads has the offer, not the code), so the demo reads the
 * code where a reader would: in the mail itself, the `.eml` file the outbox transport wrote for
 * the request's dedupe key. A stack that sends through SendGrid leaves no file: its readers then
 * order without a code.
 */

/** Decodes a quoted-printable body (soft breaks, `=XX` bytes) as UTF-8. */
export function decodeQuotedPrintable(body: string): string {
  const joined = body.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const char = joined[i] ?? '';
    const hex = joined.slice(i + 1, i + 3);
    if (char === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(char, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The text/plain part of an .eml message, decoded; the whole text when it has no such part. */
export function plainText(eml: string): string {
  const part = /Content-Type: text\/plain[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)(?:\r?\n--=_|$)/i.exec(eml);
  if (part?.[1] === undefined) return eml;
  return /Content-Transfer-Encoding: quoted-printable/i.test(eml) ? decodeQuotedPrintable(part[1]) : part[1];
}

/**
 * The coupon code in a mail's text: a line holding nothing but a code (as the templates set it
 * apart), the one starting with `prefix` when the pool has one.
 */
export function couponCodeIn(text: string, prefix?: string): string | null {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const codes = lines.filter((l) => /^[A-Z0-9][A-Z0-9_-]{3,63}$/.test(l) && /[0-9]|-/.test(l));
  if (prefix !== undefined && prefix !== '') {
    const found = codes.find((c) => c.startsWith(prefix)) ?? new RegExp(`(?:^|[^A-Z0-9])(${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[A-Z0-9]{4,})`).exec(text)?.[1];
    return found ?? null;
  }
  return codes[0] ?? null;
}

/** Reads codes from the outbox folder `dir`: the code of a sent mail by its dedupe key, or undefined. */
export function outboxCouponCodes(dir: string) {
  const codes = new Map<string, string>();
  return {
    /** Reads the mail of `dedupeKey` (once it is sent) and remembers its code. */
    async read(dedupeKey: string, prefix?: string): Promise<string | undefined> {
      const known = codes.get(dedupeKey);
      if (known !== undefined) return known;
      let eml: string;
      try {
        eml = await readFile(join(dir, outboxFileName(dedupeKey)), 'utf8');
      } catch {
        return undefined;
      }
      const code = couponCodeIn(plainText(eml), prefix);
      if (code !== null) codes.set(dedupeKey, code);
      return code ?? undefined;
    },
    /** The code read for `dedupeKey`, if any. */
    codeOf: (dedupeKey: string): string | undefined => codes.get(dedupeKey),
    /** Codes read so far. */
    count: (): number => codes.size,
  };
}

export type MailCoupons = ReturnType<typeof outboxCouponCodes>;
