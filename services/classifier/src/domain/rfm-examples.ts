import type { CurrencyRates, CurrencySpend, RfmInput } from './rfm.ts';

/**
 * Worked examples of the RFM rules: rfm.test.ts states what `scoreRfm` gives for them, and
 * test/rfm-recompute.test.ts checks that the SQL recompute gives the same.
 */

export const now = '2026-06-01T00:00:00.000Z';
export const daysAgo = (n: number): string => new Date(Date.parse(now) - n * 86_400_000).toISOString();

/** A customer who paid in the given currencies, one order each unless `orders` says otherwise. */
export function customer(customerId: string, spend: (Omit<CurrencySpend, 'orders' | 'lastOrderAt'> & Partial<CurrencySpend>)[]): RfmInput {
  const full = spend.map((s) => ({ orders: 1, lastOrderAt: daysAgo(10), ...s }));
  const lastOrderAt = full.map((s) => s.lastOrderAt).sort().at(-1) ?? daysAgo(10);
  return { customerId, lastOrderAt, orders: full.reduce((n, s) => n + s.orders, 0), spend: full };
}
export const eur = (id: string, revenue: number) => customer(id, [{ currency: 'EUR', revenue }]);
export const jpy = (id: string, revenue: number) => customer(id, [{ currency: 'JPY', revenue }]);
export const usd = (id: string, revenue: number) => customer(id, [{ currency: 'USD', revenue }]);

/** Ten customers in EUR, each a month less recent, one order and €50 less than the one before. */
export const tenCustomers: RfmInput[] = Array.from({ length: 10 }, (_, i) => ({
  customerId: `c${i}`,
  lastOrderAt: daysAgo(i * 30),
  orders: 10 - i,
  spend: [{ currency: 'EUR', revenue: (10 - i) * 50, orders: 10 - i, lastOrderAt: daysAgo(i * 30) }],
}));

// A store selling in EUR and JPY: five customers each, of comparable value at ¥1 ≈ €0.0062.
export const eurCustomers = [eur('e1', 40), eur('e2', 80), eur('e3', 120), eur('e4', 160), eur('e5', 200)];
export const jpyCustomers = [jpy('j1', 6_500), jpy('j2', 13_000), jpy('j3', 19_500), jpy('j4', 26_000), jpy('j5', 32_500)];
// Japanese customers who each spent more than any European one (¥50,000 ≈ €310).
export const jpyWhales = [jpy('w1', 50_000), jpy('w2', 60_000), jpy('w3', 70_000), jpy('w4', 80_000), jpy('w5', 90_000)];
export const eurJpy = { base: 'EUR', rates: { JPY: 0.0062 } };

/** A base of customers, the rates, and each listed customer's monetary score and currency. */
export interface MonetaryExample {
  name: string;
  customers: RfmInput[];
  rates: CurrencyRates | undefined;
  expected: Record<string, string>;
}

type Row = [string, RfmInput[], CurrencyRates | undefined, Record<string, string>];
const rows: Row[] = [
  [
    'without rates, a EUR and a JPY customer of comparable value score alike',
    [...eurCustomers, ...jpyCustomers],
    undefined,
    { e1: '1 EUR', j1: '1 JPY', e3: '3 EUR', j3: '3 JPY', e5: '5 EUR', j5: '5 JPY' },
  ],
  [
    'without rates, ¥5,000 does not outrank €40',
    [eur('e40', 40), eur('e400', 400), jpy('j5000', 5_000), jpy('j50000', 50_000)],
    undefined,
    { e40: '3 EUR', j5000: '3 JPY', e400: '5 EUR', j50000: '5 JPY' },
  ],
  [
    'without rates, each currency is ranked on its own even when one spends far more',
    [...eurCustomers, ...jpyWhales],
    undefined,
    { e1: '1 EUR', e5: '5 EUR', w1: '1 JPY', w5: '5 JPY' },
  ],
  [
    'a JPY rate ranks everyone in EUR: comparable customers still score alike',
    [...eurCustomers, ...jpyCustomers],
    eurJpy,
    // ¥6,500 = €40.3, ¥19,500 = €120.9, ¥32,500 = €201.5: each just above its EUR peer.
    { e1: '1 EUR', j1: '1 EUR', e3: '3 EUR', j3: '3 EUR', e5: '5 EUR', j5: '5 EUR' },
  ],
  [
    'a JPY rate puts the big JPY spenders above the EUR ones',
    [...eurCustomers, ...jpyWhales],
    eurJpy,
    { e1: '1 EUR', e3: '2 EUR', e5: '3 EUR', w1: '3 EUR', w3: '4 EUR', w5: '5 EUR' },
  ],
  [
    'a currency without a rate is still ranked on its own beside the converted ones',
    [eur('e1', 40), eur('e2', 400), usd('u1', 100), usd('u2', 1_000), jpy('j1', 5_000)],
    { base: 'EUR', rates: { USD: 0.92 } },
    // In EUR: 40, 92, 400, 920; the lone JPY customer is the best of their currency.
    { e1: '2 EUR', u1: '3 EUR', e2: '4 EUR', u2: '5 EUR', j1: '5 JPY' },
  ],
  [
    'the base currency may be one the store does not sell in',
    [jpy('j1', 5_000), usd('u1', 100)],
    { base: 'EUR', rates: { JPY: 0.0062, USD: 0.92 } },
    { j1: '3 EUR', u1: '5 EUR' },
  ],
  [
    'a customer paying in two currencies is ranked in the one with most orders',
    [
      customer('mixed', [
        { currency: 'EUR', revenue: 100, orders: 2 },
        { currency: 'JPY', revenue: 1_000_000, orders: 1 },
      ]),
      eur('e1', 50),
      eur('e2', 150),
      jpy('j1', 500),
    ],
    undefined,
    // Its ¥1,000,000 is not added to its €100, and does not lift it above the JPY customer either.
    { mixed: '4 EUR', e1: '2 EUR', e2: '5 EUR', j1: '5 JPY' },
  ],
  [
    'on equal orders, the currency of the latest order',
    [customer('moved', [{ currency: 'USD', revenue: 500, lastOrderAt: daysAgo(300) }, { currency: 'JPY', revenue: 20_000, lastOrderAt: daysAgo(3) }])],
    undefined,
    { moved: '5 JPY' },
  ],
  [
    'on equal orders at the same time, the first currency code alphabetically',
    [customer('same-day', [{ currency: 'USD', revenue: 1 }, { currency: 'JPY', revenue: 1 }, { currency: 'GBP', revenue: 1 }])],
    undefined,
    { 'same-day': '5 GBP' },
  ],
  [
    'with a rate, a customer’s converted currencies add up and count their orders together',
    [
      customer('mixed', [
        { currency: 'EUR', revenue: 100, orders: 1 },
        { currency: 'JPY', revenue: 50_000, orders: 1 },
        { currency: 'CHF', revenue: 10, orders: 1 },
      ]),
      eur('e1', 400),
    ],
    eurJpy,
    // €100 + ¥50,000 × 0.0062 = €410 over two orders beats one CHF order, and beats €400.
    { mixed: '5 EUR', e1: '3 EUR' },
  ],
];
export const monetaryExamples: MonetaryExample[] = rows.map(([name, customers, rates, expected]) => ({ name, customers, rates, expected }));

/** Bases with ties, a lone customer, a customer without spend, the same base in another order. */
export const edgeExamples: { name: string; customers: RfmInput[]; rates: CurrencyRates | undefined }[] = [
  { name: 'ten customers', customers: tenCustomers, rates: undefined },
  { name: 'mixed currencies', customers: [...tenCustomers, jpy('j1', 5_000), jpy('j2', 90_000), customer('both', [{ currency: 'JPY', revenue: 3_000 }, { currency: 'EUR', revenue: 20 }])], rates: undefined },
  { name: 'mixed currencies with a JPY rate', customers: [...tenCustomers, jpy('j1', 5_000), jpy('j2', 90_000), customer('both', [{ currency: 'JPY', revenue: 3_000 }, { currency: 'EUR', revenue: 20 }])], rates: eurJpy },
  { name: 'a lone customer', customers: [eur('solo', 5)], rates: undefined },
  { name: 'equal customers', customers: [0, 1, 2].map((i) => customer(`s${i}`, [{ currency: 'EUR', revenue: 10, orders: 2, lastOrderAt: daysAgo(5) }])), rates: undefined },
  { name: 'a customer without spend', customers: [eur('a', 10), { customerId: 'none', lastOrderAt: daysAgo(1), orders: 1, spend: [] }], rates: undefined },
  { name: 'recency and frequency across currencies', customers: [eur('e', 40), customer('j', [{ currency: 'JPY', revenue: 5_000, orders: 3, lastOrderAt: daysAgo(1) }])], rates: undefined },
];
