/** A minimal reader of the .eml files the outbox writes, for assertions in tests. */

export interface EmlPart {
  contentType: string;
  /** The decoded body, with CRLF line ends. */
  body: string;
}

export interface ReadEml {
  /** Header values unfolded and with RFC 2047 encoded words decoded; names lower-case. */
  headers: Map<string, string>;
  parts: EmlPart[];
}

export function decodeQuotedPrintable(encoded: string): string {
  const joined = encoded.replace(/=\r\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const char = joined[i];
    const hex = joined.slice(i + 1, i + 3);
    if (char === '=' && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(joined.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), decodeEncodedWords(line.slice(colon + 1).trim()));
  }
  return headers;
}

export function readEml(raw: string): ReadEml {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  if (boundary === undefined) throw new Error('not a multipart message');
  const body = raw.slice(split + 4);
  const sections = body.split(`--${boundary}`).slice(1, -1);
  const parts = sections.map((section) => {
    const content = section.replace(/^\r\n/, '').replace(/\r\n$/, '');
    const end = content.indexOf('\r\n\r\n');
    const partHeaders = parseHeaders(content.slice(0, end));
    return { contentType: partHeaders.get('content-type') ?? '', body: decodeQuotedPrintable(content.slice(end + 4)) };
  });
  return { headers, parts };
}
