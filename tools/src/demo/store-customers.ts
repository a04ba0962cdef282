import type { DemoCurrency, DemoProduct } from './store-catalog.ts';
import { demoCategories } from './store-catalog.ts';
import type { Random } from './seeded-random.ts';

/** Where a demo customer lives: their locale, time zone and the currency they pay in. */
interface Market {
  locale: 'en-US' | 'de-DE' | 'ja-JP';
  zones: readonly string[];
  currency: DemoCurrency;
  firstNames: readonly string[];
  /** Share of the customers. */
  weight: number;
}

const markets: readonly Market[] = [
  { locale: 'en-US', zones: ['America/New_York', 'America/Chicago', 'America/Los_Angeles'], currency: 'USD', firstNames: ['Ava', 'Liam', 'Mia', 'Noah', 'Emma', 'Ethan', 'Zoe', 'Owen'], weight: 0.5 },
  { locale: 'de-DE', zones: ['Europe/Berlin'], currency: 'EUR', firstNames: ['Lena', 'Jonas', 'Marie', 'Felix', 'Anna', 'Paul', 'Jana', 'Lukas'], weight: 0.3 },
  { locale: 'ja-JP', zones: ['Asia/Tokyo'], currency: 'JPY', firstNames: ['Yui', 'Haruto', 'Sakura', 'Ren', 'Hina', 'Sota', 'Aoi', 'Yuto'], weight: 0.2 },
];

export interface DemoCustomer {
  customerId: string;
  email: string;
  firstName: string;
  locale: Market['locale'];
  timeZone: string;
  currency: DemoCurrency;
  /** YYYY-MM-DD; about one in 200 on 29 February. */
  birthday: string;
  /** Day of the simulated year (0-based) the customer first visits. */
  arrivesOnDay: number;
  /** Visits a week while engaged. */
  visitsPerWeek: number;
  /** Chance a visit with a carted product ends in an order. */
  buyRate: number;
  /** Chance, each week without an order, of going quiet for good (unless mail brings them back). */
  churnPerWeek: number;
  /** The category they browse most. */
  favourite: DemoProduct['category'];
  /** How likely they open (and then click) a mail: 0 never, 1 always. */
  mailAffinity: number;
  /** Hour of the day (local) they usually shop. */
  shoppingHour: number;
}

const pad = (n: number): string => String(n).padStart(2, '0');

function birthdayOf(random: Random): string {
  const year = random.int(1960, 2004);
  if (random.chance(0.005)) return `${year - (year % 4)}-02-29`;
  const month = random.int(1, 12);
  const day = random.int(1, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 28);
  return `${year}-${pad(month)}-${pad(day)}`;
}

/** `count` customers, most arriving in the first months, each with a stream of randomness of their own. */
export function demoCustomers(random: Random, count: number, days: number): DemoCustomer[] {
  return Array.from({ length: count }, (_, i) => {
    const r = random.fork(`customer:${i}`);
    const market = r.weighted(markets, markets.map((m) => m.weight));
    const customerId = `demo-${String(i + 1).padStart(5, '0')}`;
    // Arrivals thin out over the year: two thirds in its first half.
    const arrivesOnDay = Math.min(days - 1, Math.floor(days * r.next() ** 1.6));
    return {
      customerId,
      email: `${customerId}@example.com`,
      firstName: r.pick(market.firstNames),
      locale: market.locale,
      timeZone: r.pick(market.zones),
      currency: market.currency,
      birthday: birthdayOf(r),
      arrivesOnDay,
      visitsPerWeek: 0.3 + r.next() * 1.7,
      buyRate: 0.15 + r.next() * 0.45,
      churnPerWeek: 0.01 + r.next() * 0.05,
      favourite: r.pick(demoCategories),
      mailAffinity: r.next() ** 0.7,
      shoppingHour: r.weighted([8, 12, 13, 18, 19, 20, 21, 22], [1, 2, 1, 2, 3, 3, 2, 1]),
    };
  });
}
