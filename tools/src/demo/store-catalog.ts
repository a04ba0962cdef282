/**
 * The demo store's catalog: 40 products in four categories, each priced in the three currencies
 * its customers pay in (the store sets a price per currency; nothing is converted at checkout).
 * Purchases have structure a co-purchase model can learn: products that go together (`goesWith`)
 * and consumables bought again at a rhythm of their own (`reorderDays`).
 */
export type DemoCurrency = 'USD' | 'EUR' | 'JPY';

export interface DemoProduct {
  productId: string;
  sku: string;
  name: string;
  category: 'Coffee' | 'Brewing' | 'Tea' | 'Accessories';
  /** Major units per currency (JPY has no minor unit). */
  price: Record<DemoCurrency, number>;
  /** Bought again and again (beans, filters, tea): repeat orders lean on these. */
  consumable: boolean;
  /** For a consumable: the days a customer's bag, tin or pack lasts, the rhythm they buy it again in. */
  reorderDays: number | null;
  /** Skus bought with this one more often than chance (a teapot with tea, a grinder with beans). */
  goesWith: readonly string[];
  url: string;
  imageUrl: string;
}

const rows: [string, string, DemoProduct['category'], number, boolean][] = [
  ['BEAN-ETH-250', 'Ethiopia Yirgacheffe 250 g', 'Coffee', 16, true],
  ['BEAN-COL-250', 'Colombia Huila 250 g', 'Coffee', 14, true],
  ['BEAN-KEN-250', 'Kenya AA 250 g', 'Coffee', 18, true],
  ['BEAN-BRA-1K', 'Brazil Cerrado 1 kg', 'Coffee', 38, true],
  ['BEAN-ESP-500', 'House Espresso 500 g', 'Coffee', 22, true],
  ['BEAN-DEC-250', 'Swiss Water Decaf 250 g', 'Coffee', 15, true],
  ['BEAN-GUA-250', 'Guatemala Antigua 250 g', 'Coffee', 17, true],
  ['BEAN-SUM-250', 'Sumatra Mandheling 250 g', 'Coffee', 16, true],
  ['BEAN-FLIGHT-3', 'Tasting Flight (3 × 100 g)', 'Coffee', 24, true],
  ['BEAN-SUB-GIFT', 'Gift Box: Single Origins', 'Coffee', 45, false],
  ['DRIP-CER-01', 'Ceramic Pour-Over Dripper', 'Brewing', 32, false],
  ['KETTLE-GN-1', 'Gooseneck Kettle 1 l', 'Brewing', 88, false],
  ['GRIND-HAND-01', 'Burr Hand Grinder', 'Brewing', 65, false],
  ['GRIND-ELEC-01', 'Electric Burr Grinder', 'Brewing', 189, false],
  ['PRESS-FR-8', 'French Press 8 cups', 'Brewing', 39, false],
  ['AERO-01', 'AeroPress Coffee Maker', 'Brewing', 42, false],
  ['MOKA-3', 'Moka Pot 3 cups', 'Brewing', 35, false],
  ['SCALE-01', 'Brewing Scale with Timer', 'Brewing', 55, false],
  ['COLD-BREW-1L', 'Cold Brew Bottle 1 l', 'Brewing', 29, false],
  ['ESP-MACH-01', 'Home Espresso Machine', 'Brewing', 499, false],
  ['TEA-SEN-100', 'Sencha 100 g', 'Tea', 14, true],
  ['TEA-GYO-50', 'Gyokuro 50 g', 'Tea', 26, true],
  ['TEA-MAT-30', 'Ceremonial Matcha 30 g', 'Tea', 28, true],
  ['TEA-HOJ-100', 'Hojicha 100 g', 'Tea', 12, true],
  ['TEA-DAR-100', 'Darjeeling First Flush 100 g', 'Tea', 19, true],
  ['TEA-EGR-100', 'Earl Grey 100 g', 'Tea', 11, true],
  ['TEA-POT-KYU', 'Kyusu Teapot', 'Tea', 58, false],
  ['TEA-WHISK-01', 'Bamboo Matcha Whisk', 'Tea', 18, false],
  ['TEA-BOWL-01', 'Matcha Bowl', 'Tea', 34, false],
  ['TEA-INF-01', 'Steel Tea Infuser', 'Tea', 9, false],
  ['FILT-100', 'Paper Filters (100)', 'Accessories', 6, true],
  ['MUG-STONE', 'Stoneware Mug', 'Accessories', 20, false],
  ['MUG-DOUBLE', 'Double-Wall Glass Mug (2)', 'Accessories', 24, false],
  ['CANISTER-01', 'Airtight Bean Canister', 'Accessories', 27, false],
  ['TAMPER-58', 'Espresso Tamper 58 mm', 'Accessories', 31, false],
  ['PITCHER-350', 'Milk Pitcher 350 ml', 'Accessories', 19, false],
  ['CLEAN-TAB-30', 'Machine Cleaning Tablets (30)', 'Accessories', 13, true],
  ['TOTE-01', 'Canvas Tote', 'Accessories', 15, false],
  ['SERVER-600', 'Glass Coffee Server 600 ml', 'Accessories', 26, false],
  ['GIFT-CARD-50', 'Gift Card 50', 'Accessories', 50, false],
];

/** How long each consumable lasts, in days: the regular rhythm a replenishment model can learn. */
const reorderDays: Record<string, number> = {
  'BEAN-ETH-250': 21,
  'BEAN-COL-250': 21,
  'BEAN-KEN-250': 21,
  'BEAN-BRA-1K': 60,
  'BEAN-ESP-500': 30,
  'BEAN-DEC-250': 28,
  'BEAN-GUA-250': 21,
  'BEAN-SUM-250': 21,
  'BEAN-FLIGHT-3': 35,
  'TEA-SEN-100': 30,
  'TEA-GYO-50': 35,
  'TEA-MAT-30': 25,
  'TEA-HOJ-100': 30,
  'TEA-DAR-100': 40,
  'TEA-EGR-100': 40,
  'FILT-100': 45,
  'CLEAN-TAB-30': 90,
};

/** Affinities: who buys the key product often buys one of these with it (the first likeliest). */
const affinities: Record<string, string[]> = {
  'TEA-SEN-100': ['TEA-POT-KYU', 'TEA-INF-01'],
  'TEA-GYO-50': ['TEA-POT-KYU', 'TEA-SEN-100'],
  'TEA-HOJ-100': ['TEA-POT-KYU', 'TEA-INF-01'],
  'TEA-MAT-30': ['TEA-WHISK-01', 'TEA-BOWL-01'],
  'TEA-DAR-100': ['TEA-INF-01', 'MUG-STONE'],
  'TEA-EGR-100': ['TEA-INF-01', 'MUG-STONE'],
  'BEAN-ETH-250': ['GRIND-HAND-01', 'DRIP-CER-01'],
  'BEAN-COL-250': ['GRIND-HAND-01', 'PRESS-FR-8'],
  'BEAN-KEN-250': ['GRIND-HAND-01', 'DRIP-CER-01'],
  'BEAN-BRA-1K': ['GRIND-ELEC-01', 'CANISTER-01'],
  'BEAN-ESP-500': ['TAMPER-58', 'PITCHER-350'],
  'BEAN-DEC-250': ['GRIND-HAND-01', 'PRESS-FR-8'],
  'BEAN-GUA-250': ['GRIND-HAND-01', 'AERO-01'],
  'BEAN-SUM-250': ['PRESS-FR-8', 'GRIND-HAND-01'],
  'BEAN-FLIGHT-3': ['GRIND-HAND-01', 'SCALE-01'],
  'DRIP-CER-01': ['FILT-100', 'KETTLE-GN-1'],
  'SERVER-600': ['DRIP-CER-01', 'FILT-100'],
  'KETTLE-GN-1': ['DRIP-CER-01', 'SCALE-01'],
  'ESP-MACH-01': ['TAMPER-58', 'CLEAN-TAB-30'],
  'AERO-01': ['FILT-100', 'GRIND-HAND-01'],
  'MOKA-3': ['BEAN-ESP-500', 'GRIND-HAND-01'],
  'COLD-BREW-1L': ['BEAN-BRA-1K'],
  'GRIND-ELEC-01': ['CANISTER-01', 'SCALE-01'],
};

/** EUR a little under the dollar figure, ending in .90; JPY at about 150 yen, to the nearest 10. */
const eur = (usd: number): number => Math.max(1, Math.round(usd * 0.92)) - 0.1;
const jpy = (usd: number): number => Math.round((usd * 150) / 10) * 10;

export const demoCatalog: readonly DemoProduct[] = rows.map(([sku, name, category, usd, consumable]) => ({
  productId: sku.toLowerCase(),
  sku,
  name,
  category,
  price: { USD: usd, EUR: Math.round(eur(usd) * 100) / 100, JPY: jpy(usd) },
  consumable,
  reorderDays: consumable ? (reorderDays[sku] ?? 30) : null,
  goesWith: affinities[sku] ?? [],
  url: `https://shop.example.com/p/${sku.toLowerCase()}`,
  imageUrl: `https://shop.example.com/img/${sku.toLowerCase()}.jpg`,
}));

const bySku = new Map(demoCatalog.map((p) => [p.sku, p]));

/** The catalog's product with `sku`; throws for a sku it does not sell (a typo in the tables above). */
export function demoProduct(sku: string): DemoProduct {
  const product = bySku.get(sku);
  if (product === undefined) throw new Error(`the demo catalog sells no ${sku}`);
  return product;
}

export const demoCategories: readonly DemoProduct['category'][] = ['Coffee', 'Brewing', 'Tea', 'Accessories'];
