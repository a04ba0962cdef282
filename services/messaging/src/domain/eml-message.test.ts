import { describe, expect, it } from 'vitest';
import { decodeQuotedPrintable, readEml } from '../../test/read-eml.ts';
import { buildEml, encodeQuotedPrintable, formatDate, unstructuredHeader } from './eml-message.ts';
import type { OutgoingMail } from './outgoing-mail.ts';

const mail: OutgoingMail = {
  from: { email: 'orders@shop.example.com', name: 'Oak & Ember' },
  to: { email: 'zoe@example.com', name: 'Zoë Müller' },
  subject: 'Danke für Ihre Bestellung, Zoë! 🎉 Ihre Bestellung OE-10482 ist unterwegs zu Ihnen',
  text: 'Hi Zoë,\n\n- Crème brûlée torch × 1 — €32.00 each\nTotal: €32.00\n',
  html: '<p>Hi Zoë,</p>\n<p>a=b &amp; c</p>',
  categories: ['post-purchase-thank-you', 'transactional'],
  tags: { messageId: 'req-1', dedupeKey: 'thank-you:cust-1:order-1', campaignId: 'thank-you', customerId: 'cust-1' },
};
const envelope = { messageId: 'abc123@shop.example.com', date: new Date('2025-11-23T09:28:00Z'), boundary: '=_lifecycle_test' };

describe('buildEml', () => {
  const raw = buildEml(mail, envelope);
  const eml = readEml(raw);

  it('writes the headers a mail client needs, subject and names decodable back to UTF-8', () => {
    expect(eml.headers.get('subject')).toBe(mail.subject);
    expect(eml.headers.get('from')).toBe('"Oak & Ember" <orders@shop.example.com>');
    expect(eml.headers.get('to')).toBe('Zoë Müller <zoe@example.com>');
    expect(eml.headers.get('date')).toBe('Sun, 23 Nov 2025 09:28:00 +0000');
    expect(eml.headers.get('message-id')).toBe('<abc123@shop.example.com>');
    expect(eml.headers.get('mime-version')).toBe('1.0');
    expect(eml.headers.get('x-lifecycle-dedupe-key')).toBe('thank-you:cust-1:order-1');
  });

  it('carries List-Unsubscribe and List-Unsubscribe-Post on a marketing message', () => {
    const unsubscribe = '<mailto:unsubscribe@shop.example.com?subject=unsubscribe%20tok>, <https://mail.shop.example.com/unsubscribe?token=tok>';
    const marketing = readEml(buildEml({ ...mail, headers: { 'List-Unsubscribe': unsubscribe, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }, envelope));
    expect(marketing.headers.get('list-unsubscribe')).toBe(unsubscribe);
    expect(marketing.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(eml.headers.get('list-unsubscribe')).toBeUndefined();
  });

  it('encodes a non-ASCII subject as RFC 2047 encoded words of at most 75 characters', () => {
    const subjectLines = /^Subject:.*(?:\r\n .*)*/m.exec(raw)?.[0] ?? '';
    expect(subjectLines).toMatch(/^Subject: =\?UTF-8\?B\?/);
    for (const word of subjectLines.match(/=\?UTF-8\?B\?[^?]*\?=/g) ?? []) expect(word.length).toBeLessThanOrEqual(75);
  });

  it('is multipart/alternative with the text part first and the HTML part last, both intact', () => {
    expect(eml.headers.get('content-type')).toBe('multipart/alternative; boundary="=_lifecycle_test"');
    expect(eml.parts.map((p) => p.contentType)).toEqual(['text/plain; charset=utf-8', 'text/html; charset=utf-8']);
    expect(eml.parts[0]?.body).toBe(mail.text.replaceAll('\n', '\r\n'));
    expect(eml.parts[1]?.body).toBe(mail.html.replaceAll('\n', '\r\n'));
  });

  it('is 7-bit ASCII with CRLF line ends and no line over 76 characters', () => {
    expect(raw).toMatch(/^[\x00-\x7f]*$/);
    expect(raw.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
    for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
  });

  it('keeps a newline in data from starting a header of its own', () => {
    const injected = buildEml({ ...mail, subject: 'Hello\r\nBcc: attacker@example.com' }, envelope);
    expect(injected).not.toMatch(/^Bcc:/m);
    expect(readEml(injected).headers.get('subject')).toBe('Hello Bcc: attacker@example.com');
  });
});

describe('encodeQuotedPrintable', () => {
  it('round-trips long UTF-8 lines with soft breaks of at most 76 characters', () => {
    const text = `${'Grüße aus Köln, '.repeat(12)}\nsecond line with = sign and trailing space `;
    const encoded = encodeQuotedPrintable(text);
    for (const line of encoded.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(encoded).toContain('=3D');
    expect(encoded).toMatch(/=20$/);
    expect(decodeQuotedPrintable(encoded)).toBe(text.replace('\n', '\r\n'));
  });
});

describe('header helpers', () => {
  it('folds a long ASCII subject at spaces', () => {
    const header = unstructuredHeader('Subject', 'word '.repeat(30).trim());
    expect(header.split('\r\n').length).toBeGreaterThan(1);
    expect(header.replace(/\r\n /g, ' ')).toBe(`Subject: ${'word '.repeat(30).trim()}`);
  });

  it('formats dates as RFC 5322 UTC date-times', () => {
    expect(formatDate(new Date('2026-02-01T00:00:05Z'))).toBe('Sun, 01 Feb 2026 00:00:05 +0000');
  });
});
