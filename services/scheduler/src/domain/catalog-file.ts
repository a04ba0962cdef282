import { parse } from 'csv-parse/sync';
import { productFacts, type ProductFacts } from './catalog.ts';

/** Columns `catalog:import` reads (others are ignored): a product per row, `product_id` or `sku` required. */
export const catalogColumns = ['product_id', 'sku', 'name', 'category', 'price', 'currency', 'url', 'image_url', 'stock'] as const;

/** RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks), by csv-parse; blank lines dropped. Throws on a malformed file. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'] });
  return rows.filter((r) => r.some((f) => f !== ''));
}

export type CatalogFileResult = { ok: true; products: ProductFacts[] } | { ok: false; problems: string[] };

/**
 * A catalog file (CSV with a header row, or JSON: an array of objects or `{ products: [...] }`)
 * as product facts; each row without `product_id` or `sku`, or with a price but no currency, is
 * a problem named by its row.
 */
export function parseCatalogFile(name: string, text: string, storeCurrency: string): CatalogFileResult {
  let records: Record<string, unknown>[];
  if (name.toLowerCase().endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { ok: false, problems: [`${name}: not JSON (${err instanceof Error ? err.message : String(err)})`] };
    }
    const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'products') : undefined;
    if (!Array.isArray(list)) return { ok: false, problems: [`${name}: expected an array of products or { "products": [...] }`] };
    records = list.map((r: unknown) => (typeof r === 'object' && r !== null && !Array.isArray(r) ? Object.fromEntries(Object.entries(r)) : {}));
  } else {
    let table: string[][];
    try {
      table = parseCsv(text);
    } catch (err) {
      return { ok: false, problems: [`${name}: not CSV (${err instanceof Error ? err.message : String(err)})`] };
    }
    const [header, ...rows] = table;
    if (header === undefined) return { ok: false, problems: [`${name}: empty file`] };
    const columns = header.map((h) => h.trim().toLowerCase());
    if (!columns.includes('product_id') && !columns.includes('sku')) return { ok: false, problems: [`${name}: the header needs a product_id or sku column (columns: ${catalogColumns.join(', ')})`] };
    records = rows.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i]?.trim() ?? ''] as const).filter(([, v]) => v !== '')));
  }
  const problems: string[] = [];
  const products: ProductFacts[] = [];
  records.forEach((r, i) => {
    const where = `${name}: ${name.toLowerCase().endsWith('.json') ? `product ${i + 1}` : `row ${i + 2}`}`;
    const facts = productFacts(r, storeCurrency);
    if (facts === null) problems.push(`${where}: needs product_id or sku`);
    else if (r['price'] !== undefined && facts.price === undefined) problems.push(`${where}: price ${String(r['price'])} is not an amount in ${String(r['currency'] ?? storeCurrency)}`);
    else products.push(facts);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, products };
}
