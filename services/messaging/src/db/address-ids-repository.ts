import { eq, inArray } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { normalizeAddress } from '../domain/suppression.ts';
import { addressIds } from './schema.ts';

export interface AddressIdsRepository {
  /** The address's id, made with `newId` the first time; two callers racing get the same one. */
  idFor: (email: string, newId: () => string, now: Date) => Promise<string>;
  /** `idFor` for many addresses at once (a statement per step), by normalized address. */
  idsFor: (emails: readonly string[], newId: () => string, now: Date) => Promise<Map<string, string>>;
  /** The address an id stands for. */
  addressOf: (id: string) => Promise<string | undefined>;
}

export function createAddressIdsRepository(db: Database): AddressIdsRepository {
  const find = async (email: string): Promise<string | undefined> => {
    const [row] = await db.select({ id: addressIds.id }).from(addressIds).where(eq(addressIds.email, email));
    return row?.id;
  };
  return {
    idFor: async (email, newId, now) => {
      const address = normalizeAddress(email);
      const known = await find(address);
      if (known !== undefined) return known;
      const [created] = await db.insert(addressIds).values({ email: address, id: newId(), createdAt: now }).onConflictDoNothing({ target: addressIds.email }).returning({ id: addressIds.id });
      if (created !== undefined) return created.id;
      // Another send to the same address inserted first: its id wins.
      const raced = await find(address);
      if (raced === undefined) throw new Error('address id vanished right after a conflicting insert');
      return raced;
    },
    idsFor: async (emails, newId, now) => {
      const addresses = [...new Set(emails.map(normalizeAddress))];
      const ids = new Map<string, string>();
      const known = async (among: string[]): Promise<void> => {
        if (among.length === 0) return;
        for (const row of await db.select({ email: addressIds.email, id: addressIds.id }).from(addressIds).where(inArray(addressIds.email, among))) ids.set(row.email, row.id);
      };
      await known(addresses);
      const missing = addresses.filter((a) => !ids.has(a));
      if (missing.length === 0) return ids;
      const created = await db
        .insert(addressIds)
        .values(missing.map((email) => ({ email, id: newId(), createdAt: now })))
        .onConflictDoNothing({ target: addressIds.email })
        .returning({ email: addressIds.email, id: addressIds.id });
      for (const row of created) ids.set(row.email, row.id);
      // Another send to the same address inserted first: its id wins.
      await known(missing.filter((a) => !ids.has(a)));
      const vanished = missing.find((a) => !ids.has(a));
      if (vanished !== undefined) throw new Error('address id vanished right after a conflicting insert');
      return ids;
    },
    addressOf: async (id) => {
      const [row] = await db.select({ email: addressIds.email }).from(addressIds).where(eq(addressIds.id, id));
      return row?.email;
    },
  };
}
