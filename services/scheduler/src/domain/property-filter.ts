import type { Comparison, PropertyFilter } from './campaign.ts';

/** A property by dotted path (`total`, `products.0.category`). */
export function propertyAt(properties: Record<string, unknown>, path: string): unknown {
  let value: unknown = properties;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    const next: unknown = Reflect.get(value, part);
    value = next;
  }
  return value;
}

function compare(value: unknown, comparison: Comparison): boolean {
  if (typeof comparison !== 'object') return value === comparison;
  const { eq, ne, gt, gte, lt, lte, exists } = comparison;
  if (exists !== undefined && (value !== undefined && value !== null) !== exists) return false;
  if (eq !== undefined && value !== eq) return false;
  if (ne !== undefined && value === ne) return false;
  if (comparison.in !== undefined && !((typeof value === 'string' || typeof value === 'number') && comparison.in.includes(value))) return false;
  const ordered = [gt, gte, lt, lte].some((b) => b !== undefined);
  if (!ordered) return true;
  if (typeof value !== 'number') return false;
  return (gt === undefined || value > gt) && (gte === undefined || value >= gte) && (lt === undefined || value < lt) && (lte === undefined || value <= lte);
}

/** Whether an event's properties pass every comparison of a trigger's `where`. */
export function matchesFilter(filter: PropertyFilter | undefined, properties: Record<string, unknown>): boolean {
  if (filter === undefined) return true;
  return Object.entries(filter).every(([path, comparison]) => compare(propertyAt(properties, path), comparison));
}
