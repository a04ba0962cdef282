import { describe, expect, it } from 'vitest';
import { codesFromCsv, csvRows, toCsv } from './coupon-csv.ts';

describe('coupon CSV import', () => {
  it('reads the Code column of a Shopify discount export', () => {
    const csv = 'Discount Id,Code,Usage Count\n1,summer-aaa,0\n2,"SUMMER-BBB",3\n3,summer-aaa,0\n';
    expect(codesFromCsv(csv)).toEqual({ ok: true, codes: ['SUMMER-AAA', 'SUMMER-BBB'], duplicates: 1 });
  });

  it('reads WooCommerce post_title and a file of one column without header', () => {
    expect(codesFromCsv('ID,post_title,discount_type\r\n10,WOO1,percent\r\n')).toEqual({ ok: true, codes: ['WOO1'], duplicates: 0 });
    expect(codesFromCsv('ONE\nTWO\n\n')).toEqual({ ok: true, codes: ['ONE', 'TWO'], duplicates: 0 });
  });

  it('says which columns it found when none holds codes', () => {
    const result = codesFromCsv('id,name\n1,x\n');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('"id", "name"');
  });

  it('round-trips quoted fields', () => {
    const text = toCsv(['code', 'note'], [['A,1', 'say "hi"'], ['B', null]]);
    expect(csvRows(text)).toEqual([['code', 'note'], ['A,1', 'say "hi"'], ['B', '']]);
  });
});
