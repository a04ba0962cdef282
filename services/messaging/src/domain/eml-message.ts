import type { MailAddress, OutgoingMail } from './outgoing-mail.ts';

/** What a written message needs beyond its content; passed in so the output is reproducible. */
export interface EmlEnvelope {
  /** Message-ID without angle brackets, e.g. `3f2a…@shop.example`. */
  messageId: string;
  date: Date;
  /**
   * Must start with `=_`: quoted-printable output never contains that pair, so the boundary
   * cannot occur inside a part.
   */
  boundary: string;
}

const CRLF = '\r\n';
/** RFC 2047's limit for lines holding encoded words; used for every header line for simplicity. */
const MAX_LINE = 76;
/** `=?UTF-8?B?` and `?=` around the base64 text. */
const ENCODED_WORD_OVERHEAD = 12;

const isAscii = (value: string): boolean => /^[\x20-\x7e]*$/.test(value);

/** Header values are single lines: a CR or LF in data would start a header of its own. */
function singleLine(value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ');
}

/** UTF-8 bytes whose base64 fits in `room` characters of encoded word. */
function bytesFitting(room: number): number {
  return Math.max(3, Math.floor((room - ENCODED_WORD_OVERHEAD) / 4) * 3);
}

/**
 * RFC 2047 B-encoding, split on character boundaries. Continuation lines hold one word each
 * after a space; the first word only gets `firstLineRoom` characters, what the header name left.
 */
export function encodeWords(value: string, firstLineRoom: number): string[] {
  const chunks: string[] = [];
  let chunk = '';
  let limit = bytesFitting(firstLineRoom);
  for (const char of value) {
    if (chunk !== '' && Buffer.byteLength(chunk + char, 'utf8') > limit) {
      chunks.push(chunk);
      chunk = '';
      limit = bytesFitting(MAX_LINE - 1);
    }
    chunk += char;
  }
  if (chunk !== '') chunks.push(chunk);
  return chunks.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`);
}

/** Joins tokens with spaces, folding onto continuation lines to keep lines within MAX_LINE characters. */
function foldHeader(name: string, tokens: string[]): string {
  let out = `${name}:`;
  let lineLength = out.length;
  for (const token of tokens) {
    if (lineLength + 1 + token.length > MAX_LINE && lineLength > name.length + 1) {
      out += `${CRLF} ${token}`;
      lineLength = 1 + token.length;
    } else {
      out += ` ${token}`;
      lineLength += 1 + token.length;
    }
  }
  return out;
}

/** An unstructured header (Subject, X-…): plain when ASCII, encoded words otherwise. */
export function unstructuredHeader(name: string, value: string): string {
  const clean = singleLine(value);
  return foldHeader(name, isAscii(clean) ? clean.split(' ').filter((t) => t !== '') : encodeWords(clean, MAX_LINE - name.length - 2));
}

function displayName(name: string, firstLineRoom: number): string[] {
  const clean = singleLine(name).trim();
  if (!isAscii(clean)) return encodeWords(clean, firstLineRoom);
  return [`"${clean.replace(/(["\\])/g, '\\$1')}"`];
}

export function addressHeader(name: string, address: MailAddress): string {
  const email = `<${singleLine(address.email).trim()}>`;
  if (address.name === undefined || address.name.trim() === '') return foldHeader(name, [email]);
  return foldHeader(name, [...displayName(address.name, MAX_LINE - name.length - 2), email]);
}

/** RFC 5322 date-time in UTC, e.g. `Sun, 23 Nov 2025 09:28:00 +0000`. */
export function formatDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** Each byte as quoted-printable writes it in the middle of a line: itself when printable (not "="), else "=XX". */
const QP_TOKEN = Array.from({ length: 256 }, (_, byte) => ((byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9 ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`));
/** A line that needs no encoding: printable ASCII without "=", not ending in a space or tab, short enough. */
const QP_PLAIN = /^[\x20-\x3c\x3e-\x7e\t]{0,75}$/;

function qpLine(line: string): string {
  if (QP_PLAIN.test(line) && !/[ \t]$/.test(line)) return line;
  const bytes = Buffer.from(line, 'utf8');
  const physical: string[] = [];
  let current = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    // A space or tab ending the line is encoded, so a transport's trailing-space stripping cannot lose it.
    const token = i === bytes.length - 1 && (byte === 32 || byte === 9) ? `=${byte.toString(16).toUpperCase().padStart(2, '0')}` : (QP_TOKEN[byte] ?? '');
    // 75 characters plus the soft-break "=" keep each physical line within RFC 2045's 76.
    if (current.length + token.length > 75) {
      physical.push(`${current}=`);
      current = '';
    }
    current += token;
  }
  physical.push(current);
  return physical.join(CRLF);
}

/** RFC 2045 quoted-printable of UTF-8 text; line breaks become CRLF hard breaks. */
export function encodeQuotedPrintable(text: string): string {
  return text.split(/\r\n|\r|\n/).map(qpLine).join(CRLF);
}

function textPart(boundary: string, subtype: 'plain' | 'html', body: string): string[] {
  return [
    `--${boundary}`,
    `Content-Type: text/${subtype}; charset=utf-8`,
    'Content-Transfer-Encoding: quoted-printable',
    '',
    encodeQuotedPrintable(body),
  ];
}

/**
 * A complete RFC 5322 message: `multipart/alternative` with the text part first and the HTML
 * part last (the one mail clients prefer), UTF-8 bodies in quoted-printable, CRLF line ends.
 */
export function buildEml(mail: OutgoingMail, envelope: EmlEnvelope): string {
  if (!envelope.boundary.startsWith('=_')) throw new Error('the MIME boundary must start with "=_"');
  const { tags } = mail;
  const lines = [
    addressHeader('From', mail.from),
    addressHeader('To', mail.to),
    unstructuredHeader('Subject', mail.subject),
    `Date: ${formatDate(envelope.date)}`,
    `Message-ID: <${singleLine(envelope.messageId)}>`,
    'MIME-Version: 1.0',
    unstructuredHeader('X-Lifecycle-Message-Id', tags.messageId),
    unstructuredHeader('X-Lifecycle-Dedupe-Key', tags.dedupeKey),
    unstructuredHeader('X-Lifecycle-Campaign-Id', tags.campaignId),
    unstructuredHeader('X-Lifecycle-Customer-Id', tags.customerId),
    unstructuredHeader('X-Lifecycle-Categories', mail.categories.join(', ')),
    ...Object.entries(mail.headers ?? {}).map(([name, value]) => unstructuredHeader(name, value)),
    `Content-Type: multipart/alternative; boundary="${envelope.boundary}"`,
    '',
    ...textPart(envelope.boundary, 'plain', mail.text),
    ...textPart(envelope.boundary, 'html', mail.html),
    `--${envelope.boundary}--`,
    '',
  ];
  return lines.join(CRLF);
}
