import { parse } from 'csv-parse/sync';
/** Header names of the code column in the shops' discount-code exports (Shopify, WooCommerce). */
const CODE_HEADERS = ['code', 'discount code', 'discount_code', 'coupon_code', 'post_title'];

/**
 * The rows of a CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks), by
 * csv-parse; a byte-order mark and blank lines are dropped. Throws on a malformed file.
 */
export function csvRows(text: string): string[][] {
  const rows: string[][] = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'] });
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

export type ImportedCodes = { ok: true; codes: string[]; duplicates: number } | { ok: false; error: string };

/**
 * The codes of a shop's export: the column headed `Code`, `Discount Code`, `discount_code`,
 * `coupon_code` or `post_title` (WooCommerce), or the only column of a file without a header.
 * Upper-cased and trimmed (codes are matched that way), each once.
 */
export function codesFromCsv(text: string): ImportedCodes {
  let rows: string[][];
  try {
    rows = csvRows(text);
  } catch (err) {
    return { ok: false, error: `not a CSV file: ${err instanceof Error ? err.message : String(err)}` };
  }
  const [header] = rows;
  if (header === undefined) return { ok: false, error: 'the file holds no codes' };
  const column = header.findIndex((h) => CODE_HEADERS.includes(h.trim().toLowerCase()));
  let values: string[];
  if (column >= 0) values = rows.slice(1).map((r) => r[column] ?? '');
  else if (header.length === 1) values = rows.map((r) => r[0] ?? '');
  else return { ok: false, error: `no code column: expected a header named Code, Discount Code, discount_code, coupon_code or post_title (found ${header.map((h) => `"${h.trim()}"`).join(', ')}), or a file of one column` };
  const all = values.map((v) => v.trim().toUpperCase()).filter((v) => v !== '');
  const codes = [...new Set(all)];
  return { ok: true, codes, duplicates: all.length - codes.length };
}

function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A CSV text with a header row. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  return [header, ...rows].map((r) => r.map((v) => field(v ?? '')).join(',')).join('\n') + '\n';
}
