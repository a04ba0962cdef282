import { drizzle } from 'drizzle-orm/node-postgres';
import type { Database, Pool } from './db.ts';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** node-postgres reports a lost connection as an `error` event; the failing statement reports it too. */
const ignoreLostConnection = (): void => undefined;

/**
 * Runs `work` in one transaction on a connection of its own, and always gives the connection back.
 *
 * - The pool listens for a connection's `error` event only while the connection is idle. Lost
 *   while a transaction holds it (between statements, or while the transaction waits for Kafka),
 *   it would raise an uncaught exception and end the process; here the next statement fails
 *   instead, and the transaction is retried like any other failure.
 * - drizzle's `transaction()` on a pool keeps the connection when BEGIN fails (the pool handed out
 *   a connection that had just been lost), which shrinks the pool for good and leaves
 *   `pool.end()` waiting at shutdown. A connection whose transaction failed is discarded rather
 *   than reused: it may be broken or still inside the transaction.
 */
export async function inTransaction<T>(pool: Pool, work: (tx: Transaction) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  client.on('error', ignoreLostConnection);
  let failure: Error | undefined;
  try {
    return await drizzle({ client }).transaction(work);
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.removeListener('error', ignoreLostConnection);
    client.release(failure);
  }
}
