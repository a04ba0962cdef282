import { eq } from 'drizzle-orm';
import type { Database } from '@lifecycle/kit';
import { normalizeAddress } from '../domain/suppression.ts';
import { addressIds } from './schema.ts';

export interface AddressIdsRepository {
  /** The address's id, made with `newId` the first time; two callers racing get the same one. */
  idFor: (email: string, newId: () => string, now: Date) => Promise<string>;
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
    addressOf: async (id) => {
      const [row] = await db.select({ email: addressIds.email }).from(addressIds).where(eq(addressIds.id, id));
      return row?.email;
    },
  };
}
