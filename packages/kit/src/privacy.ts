import { sql, type SQL } from 'drizzle-orm';
import { topics, type PrivacyCompleted, type PrivacyKind, type PrivacyRequested, type PrivacyService } from '@lifecycle/contracts';
import type { Runtime } from './runtime.ts';
import { inTransaction, type Transaction } from './transaction.ts';

/**
 * How a privacy request treats one table of a service's schema: which rows are the customer's
 * (`rows`, given what identifies them: ids, addresses), and what an erase does to them (deleted,
 * or this `SET` clause for rows kept without the personal data).
 */
export interface PrivacyTableRule<M> {
  table: string;
  rows: (match: M) => SQL;
  anonymize?: (match: M) => SQL;
  /** Left out of an export (the request bookkeeping itself). */
  notExported?: boolean;
}

/** The outbox's rows that are not privacy records: a pending confirmation or request must still go out after an erase. */
export function notPrivacyRecords(prefix: string): SQL {
  return sql`topic NOT IN (${prefix + topics.privacyRequests.name}, ${prefix + topics.privacyResponses.name})`;
}

/**
 * Erases (deletes or anonymizes) or gathers the rows each rule names, in `schema`, within `tx`:
 * the per-table counts for the confirmation's `summary` (`<schema>.<table>`) and, for an export,
 * the rows by table.
 */
export async function applyPrivacyTables<M>(tx: Transaction, schema: string, rules: readonly PrivacyTableRule<M>[], match: M, kind: PrivacyKind): Promise<{ summary: Record<string, number>; data: Record<string, unknown> }> {
  const summary: Record<string, number> = {};
  const data: Record<string, unknown> = {};
  for (const rule of rules) {
    const from = sql.raw(`${schema}.${rule.table}`);
    const where = rule.rows(match);
    if (kind === 'erase') {
      const done = rule.anonymize === undefined ? await tx.execute(sql`DELETE FROM ${from} WHERE ${where}`) : await tx.execute(sql`UPDATE ${from} SET ${rule.anonymize(match)} WHERE ${where}`);
      summary[`${schema}.${rule.table}`] = done.rowCount ?? 0;
    } else if (rule.notExported !== true) {
      const found = await tx.execute<{ rows: unknown[] }>(sql`SELECT coalesce(json_agg(t), '[]'::json) AS rows FROM ${from} t WHERE ${where}`);
      const rows = found.rows[0]?.rows ?? [];
      summary[`${schema}.${rule.table}`] = rows.length;
      data[rule.table] = rows;
    }
  }
  return { summary, data };
}

/**
 * A service's confirmation of a request. Its id is `<requestId>:<service>`, so a redelivered
 * request confirms again under the same id and the coordinator drops the repeat.
 */
export function privacyConfirmation(request: PrivacyRequested, service: PrivacyService, done: { summary: Record<string, number>; data?: Record<string, unknown>; kept?: readonly string[] }): PrivacyCompleted {
  const erase = request.payload.kind === 'erase';
  return {
    id: `${request.payload.requestId}:${service}`,
    type: 'privacy.completed',
    version: 1,
    occurredAt: request.occurredAt,
    customerId: request.customerId,
    causationId: request.id,
    payload: { requestId: request.payload.requestId, kind: request.payload.kind, service, summary: done.summary, ...(erase ? {} : { data: done.data ?? {} }), kept: erase ? [...(done.kept ?? [])] : [] },
  };
}

/**
 * The handler of a service's `privacy.requests` consumer: acts on the request and writes the
 * confirmation (through `confirm`, the service's outbox) in one transaction, so the effect and the
 * confirmation commit together; ids only in the log.
 */
export function privacyRequestHandler(runtime: Runtime, act: (tx: Transaction, request: PrivacyRequested) => Promise<PrivacyCompleted>, confirm: (tx: Transaction, done: PrivacyCompleted) => Promise<unknown>): (request: PrivacyRequested) => Promise<void> {
  return async (request) => {
    const confirmation = await inTransaction(runtime.pool, async (tx) => {
      const done = await act(tx, request);
      await confirm(tx, done);
      return done;
    });
    runtime.logger.info({ requestId: request.payload.requestId, customerId: request.customerId, kind: request.payload.kind, summary: confirmation.payload.summary }, 'privacy request done');
  };
}
