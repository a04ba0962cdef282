import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { PrivacyServices, type PrivacyCompleted, type PrivacyKind, type PrivacyRequested, type PrivacyService } from '@lifecycle/contracts';
import { inTransaction, topicConsumerComponent, type ConsumerComponent, type Database, type Logger, type Outbox, type Pool, type Runtime } from '@lifecycle/kit';

/**
 * Messaging coordinates privacy requests: it records an operator's request and publishes it on
 * `privacy.requests` in one transaction, then records each service's confirmation from
 * `privacy.responses`; the request is complete once all four have confirmed.
 */

export interface PrivacyConfirmation {
  confirmedAt: string;
  summary: Record<string, number>;
  kept: string[];
}

export interface PrivacyRequestView {
  requestId: string;
  kind: PrivacyKind;
  customerId: string;
  requestedBy: string;
  requestedAt: string;
  status: 'pending' | 'complete';
  completedAt: string | null;
  services: Record<PrivacyService, PrivacyConfirmation | null>;
  /** Export only: each service's data on the customer, as it confirmed (emptied by a later erase). */
  export?: Partial<Record<PrivacyService, unknown>>;
}

/** Records a request and writes it to the outbox, in one transaction. */
export async function createPrivacyRequest(
  deps: { pool: Pool; outbox: Outbox; now: () => Date },
  input: { customerId: string; kind: PrivacyKind; requestedBy: string },
): Promise<{ requestId: string; status: 'pending' }> {
  const requestId = randomUUID();
  const at = deps.now().toISOString();
  const record: PrivacyRequested = {
    id: `privacy:${requestId}`,
    type: 'privacy.requested',
    version: 1,
    occurredAt: at,
    customerId: input.customerId,
    causationId: `privacy:${requestId}`,
    payload: { requestId, kind: input.kind, requestedBy: input.requestedBy },
  };
  await inTransaction(deps.pool, async (tx) => {
    await tx.execute(sql`
      INSERT INTO messaging.privacy_requests (request_id, kind, customer_id, requested_by, requested_at)
      VALUES (${requestId}, ${input.kind}, ${input.customerId}, ${input.requestedBy}, ${at}::timestamptz)`);
    await deps.outbox.enqueue(tx, 'privacyRequests', [record]);
  });
  return { requestId, status: 'pending' };
}

interface RequestRow extends Record<string, unknown> {
  request_id: string;
  kind: PrivacyKind;
  customer_id: string;
  requested_by: string;
  requested_at: string;
  confirmations: Record<string, PrivacyConfirmation>;
  exported: Record<string, unknown> | null;
  completed_at: string | null;
}

/** A request as `GET /admin/privacy/requests/:id` shows it; null when there is none. */
export async function readPrivacyRequest(db: Database, requestId: string): Promise<PrivacyRequestView | null> {
  const found = await db.execute<RequestRow>(sql`
    SELECT request_id, kind, customer_id, requested_by,
      to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS requested_at,
      confirmations, exported,
      to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS completed_at
    FROM messaging.privacy_requests WHERE request_id = ${requestId}`);
  const row = found.rows[0];
  if (row === undefined) return null;
  const services = Object.fromEntries(PrivacyServices.map((s) => [s, row.confirmations[s] ?? null])) as Record<PrivacyService, PrivacyConfirmation | null>;
  return {
    requestId: row.request_id,
    kind: row.kind,
    customerId: row.customer_id,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    status: row.completed_at === null ? 'pending' : 'complete',
    completedAt: row.completed_at,
    services,
    ...(row.kind === 'export' ? { export: row.exported ?? {} } : {}),
  };
}

/**
 * Records one service's confirmation: the first one counts (a redelivery or a repeated request
 * changes nothing), an export's data is kept unless the customer was erased since, and the
 * request completes with the last of the four.
 */
export async function recordConfirmation(pool: Pool, confirmation: PrivacyCompleted, now: Date, logger: Logger): Promise<void> {
  const p = confirmation.payload;
  const entry: PrivacyConfirmation = { confirmedAt: now.toISOString(), summary: p.summary, kept: p.kept };
  const data = p.kind === 'export' ? JSON.stringify(p.data ?? {}) : null;
  const updated = await pool.query<{ completed: boolean }>(
    `UPDATE messaging.privacy_requests r SET
       confirmations = r.confirmations || jsonb_build_object($2::text, $3::jsonb),
       exported = CASE
         WHEN $4::jsonb IS NULL THEN r.exported
         -- An erase asked for after this export: what the export gathered is not kept.
         WHEN EXISTS (SELECT 1 FROM messaging.privacy_requests e WHERE e.customer_id = r.customer_id AND e.kind = 'erase' AND e.requested_at >= r.requested_at) THEN NULL
         ELSE coalesce(r.exported, '{}'::jsonb) || jsonb_build_object($2::text, $4::jsonb) END,
       completed_at = CASE WHEN (r.confirmations || jsonb_build_object($2::text, $3::jsonb)) ?& $5::text[] THEN coalesce(r.completed_at, $6::timestamptz) ELSE r.completed_at END
     WHERE r.request_id = $1 AND NOT r.confirmations ? $2
     RETURNING r.completed_at IS NOT NULL AS completed`,
    [p.requestId, p.service, JSON.stringify(entry), data, [...PrivacyServices], now.toISOString()],
  );
  const row = updated.rows[0];
  if (row === undefined) {
    const known = await pool.query('SELECT 1 FROM messaging.privacy_requests WHERE request_id = $1', [p.requestId]);
    if (known.rowCount === 0) logger.warn({ requestId: p.requestId, service: p.service, customerId: confirmation.customerId }, 'privacy confirmation for a request this messaging does not know, ignored');
    return;
  }
  logger.info({ requestId: p.requestId, service: p.service, customerId: confirmation.customerId, completed: row.completed }, 'privacy confirmation recorded');
}

/** The `privacy.responses` consumer: each service's confirmation, recorded once. */
export function privacyResponsesConsumer(runtime: Runtime, now: () => Date): ConsumerComponent {
  return topicConsumerComponent({
    kafka: runtime.kafka,
    producer: runtime.producer,
    prefix: runtime.prefix,
    pool: runtime.pool,
    logger: runtime.logger,
    groupId: 'lifecycle-messaging-privacy-responses',
    topic: 'privacyResponses',
    handle: (confirmation) => recordConfirmation(runtime.pool, confirmation, now(), runtime.logger),
  });
}
