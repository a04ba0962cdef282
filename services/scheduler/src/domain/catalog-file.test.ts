import { describe, expect, it } from 'vitest';
import { parseCatalogFile, parseCsv } from './catalog-file.ts';

describe('catalog files', () => {
  it('read CSV with quoted fields and a header', () => {
    expect(parseCsv('a,b\n"x, ""y""",2\r\n')).toEqual([
      ['a', 'b'],
      ['x, "y"', '2'],
    ]);
    const result = parseCatalogFile('p.csv', 'product_id,name,price,currency,stock\nT-1,"Tea, green",12.5,EUR,0\nT-2,Pot,4500,JPY,\n', 'USD');
    expect(result).toEqual({
      ok: true,
      products: [
        expect.objectContaining({ productId: 'T-1', name: 'Tea, green', price: { amountMinor: 1250, currency: 'EUR' }, stock: 0 }),
        expect.objectContaining({ productId: 'T-2', price: { amountMinor: 4500, currency: 'JPY' }, stock: undefined }),
      ],
    });
  });

  it('read JSON and name the rows that are wrong', () => {
    expect(parseCatalogFile('p.json', JSON.stringify({ products: [{ sku: 'S', price: 3 }] }), 'USD')).toMatchObject({ ok: true, products: [{ productId: 'S', price: { amountMinor: 300, currency: 'USD' } }] });
    expect(parseCatalogFile('p.csv', 'sku,price\n,3\nA,cheap\n', 'USD')).toEqual({ ok: false, problems: ['p.csv: row 2: needs product_id or sku', 'p.csv: row 3: price cheap is not an amount in USD'] });
  });
});
