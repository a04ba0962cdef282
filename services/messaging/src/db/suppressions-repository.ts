import { eq, inArray } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { normalizeAddress, type SuppressionReason, type SuppressionSource } from '../domain/suppression.ts';
import { suppressions, type SuppressionRow } from './schema.ts';

export interface SuppressionsRepository {
  /** Idempotent: suppressing an address again keeps the first record. */
  suppress: (email: string, reason: SuppressionReason, source: SuppressionSource, now: Date) => Promise<void>;
  find: (email: string) => Promise<SuppressionRow | undefined>;
  /** The suppressions of many addresses at once (one statement), by normalized address. */
  findMany: (emails: readonly string[]) => Promise<Map<string, SuppressionRow>>;
}

export function createSuppressionsRepository(db: Database): SuppressionsRepository {
  return {
    suppress: async (email, reason, source, now) => {
      await db.insert(suppressions).values({ email: normalizeAddress(email), reason, source, createdAt: now }).onConflictDoNothing({ target: suppressions.email });
    },
    find: async (email) => {
      const [row] = await db.select().from(suppressions).where(eq(suppressions.email, normalizeAddress(email)));
      return row;
    },
    findMany: async (emails) => {
      if (emails.length === 0) return new Map();
      const rows = await db
        .select()
        .from(suppressions)
        .where(inArray(suppressions.email, [...new Set(emails.map(normalizeAddress))]));
      return new Map(rows.map((row) => [row.email, row]));
    },
  };
}
