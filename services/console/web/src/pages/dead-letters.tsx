import { useState } from 'react';
import { z } from 'zod';
import type { ApiError } from '../api-client.ts';
import { formatDateTime, formatInteger } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { asApiError, useApi, useApiClient } from '../use-api.ts';

const Topic = z.looseObject({
  topic: z.string(),
  sourceTopic: z.string().optional(),
  total: z.number(),
  /** The scan stopped early: there are more than `total`. */
  truncated: z.boolean().optional(),
  byReason: z.array(z.object({ reason: z.string(), count: z.number() })).default([]),
});
const DeadLetters = z.looseObject({ services: z.array(z.looseObject({ service: z.string(), topics: z.array(Topic) })) });

const Offset = z.union([z.string(), z.number()]);
const DeadRecord = z.looseObject({
  topic: z.string(),
  partition: z.number(),
  offset: Offset,
  sourceTopic: z.string().optional(),
  sourcePartition: z.number().nullable().optional(),
  sourceOffset: Offset.nullable().optional(),
  reason: z.string().optional(),
  errors: z.array(z.string()).default([]),
  attempts: z.number().nullable().optional(),
  deadLetteredAt: z.string().nullable().optional(),
  key: z.string().nullable().optional(),
  valueUtf8: z.string().nullable().optional(),
  valueBase64: z.string().nullable().optional(),
});
type DeadRecord = z.infer<typeof DeadRecord>;
const Records = z.looseObject({ records: z.array(DeadRecord) });
const Republished = z.looseObject({ republished: z.array(z.unknown()), skipped: z.array(z.looseObject({ why: z.string() })).optional(), auditId: z.number().optional() });
const AuditEntry = z.looseObject({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target: z.record(z.string(), z.unknown()).default({}), result: z.string(), detail: z.record(z.string(), z.unknown()).default({}) });
const Audit = z.looseObject({ entries: z.array(AuditEntry) });

interface Selection {
  service: string;
  topic: string;
  reason: string;
}

type Outcome = { kind: 'ok'; text: string } | { kind: 'error'; error: ApiError } | null;

function describeTarget(target: Record<string, unknown>): string {
  return Object.entries(target)
    .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

function RecordView({ record, onRepublish, busy }: { record: DeadRecord; onRepublish: () => void; busy: boolean }) {
  const [showBase64, setShowBase64] = useState(record.valueUtf8 === null || record.valueUtf8 === undefined);
  return (
    <li className="dlq-record card" data-testid={`dlq-record-${record.partition}-${String(record.offset)}`}>
      <div className="dlq-record-head">
        <span>
          Partition {record.partition}, offset {String(record.offset)}
          {record.sourceTopic !== undefined ? (
            <span className="muted">
              {' '}
              · from {record.sourceTopic}
              {record.sourcePartition !== null && record.sourcePartition !== undefined ? ` [${record.sourcePartition}]` : ''}
              {record.sourceOffset !== null && record.sourceOffset !== undefined ? ` @${String(record.sourceOffset)}` : ''}
            </span>
          ) : null}
        </span>
        <span className="muted">
          {formatDateTime(record.deadLetteredAt)}
          {record.attempts !== null && record.attempts !== undefined ? ` · ${formatInteger(record.attempts)} attempts` : ''}
        </span>
        <button type="button" onClick={onRepublish} disabled={busy}>
          Re-publish
        </button>
      </div>
      <h4>Error</h4>
      {record.errors.length === 0 ? <p className="muted">{record.reason ?? 'No error recorded.'}</p> : <ul className="errors">{record.errors.map((e, i) => <li key={i}>{e}</li>)}</ul>}
      <h4>
        Original bytes{record.key !== null && record.key !== undefined ? <span className="muted"> (key {record.key})</span> : null}
        {record.valueUtf8 !== null && record.valueUtf8 !== undefined ? (
          <button type="button" className="link-button" onClick={() => setShowBase64((b) => !b)}>
            {showBase64 ? 'Show as text' : 'Show as base64'}
          </button>
        ) : null}
      </h4>
      <pre className="bytes">{showBase64 ? (record.valueBase64 ?? '(empty)') : record.valueUtf8}</pre>
    </li>
  );
}

export function DeadLettersPage() {
  const client = useApiClient();
  const counts = useApi('/api/dead-letters', DeadLetters);
  const audit = useApi('/api/audit', Audit);
  const [selection, setSelection] = useState<Selection | null>(null);
  const recordsPath = selection === null ? null : `/api/dead-letters/records?${new URLSearchParams({ service: selection.service, topic: selection.topic, reason: selection.reason }).toString()}`;
  const records = useApi(recordsPath, Records);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);

  const republish = async (body: { service: string; topic: string; partition?: number; offset?: string | number; reason?: string }, question: string) => {
    if (!window.confirm(question)) return;
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await client.post('/api/dead-letters/republish', body, Republished);
      const n = answer.republished.length;
      const skipped = answer.skipped ?? [];
      const notSent = skipped.length === 0 ? '' : ` ${formatInteger(skipped.length)} not re-published: ${[...new Set(skipped.map((k) => k.why))].join('; ')}.`;
      setOutcome({ kind: 'ok', text: `Re-published ${formatInteger(n)} ${n === 1 ? 'record' : 'records'} to ${body.topic.replace(/\.dlq$/, '')}.${notSent}` });
    } catch (err) {
      setOutcome({ kind: 'error', error: asApiError(err) });
    } finally {
      setBusy(false);
      counts.reload();
      audit.reload();
      if (selection !== null) records.reload();
    }
  };

  return (
    <>
      <h1>Dead letters</h1>
      {outcome?.kind === 'ok' ? (
        <p role="status" className="state state-ok">
          {outcome.text}
        </p>
      ) : null}
      {outcome?.kind === 'error' ? <ErrorAlert error={outcome.error} /> : null}

      <section className="card">
        <h2>Per service and topic</h2>
        {counts.state === 'loading' ? (
          <Loading />
        ) : counts.state === 'error' ? (
          <ErrorAlert error={counts.error} onRetry={counts.reload} />
        ) : counts.data.services.every((s) => s.topics.length === 0) ? (
          <Empty>No dead-letter topics yet: a service lists them once it consumes a topic; a record lands there when a consumer cannot process it.</Empty>
        ) : (
          <div className="table-wrap">
            {counts.data.services.every((s) => s.topics.every((t) => t.total === 0)) ? (
              <p className="muted">No dead letters: a record lands here when a consumer cannot process it (invalid, or failing after retries).</p>
            ) : null}
            <table>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Topic</th>
                  <th scope="col" className="num">
                    Total
                  </th>
                  <th scope="col">By reason</th>
                </tr>
              </thead>
              <tbody>
                {counts.data.services.flatMap((s) =>
                  s.topics.map((t) => (
                      <tr key={`${s.service}-${t.topic}`} data-testid={`dlq-row-${s.service}-${t.topic}`} data-total={t.total}>
                        <td>{s.service}</td>
                        <td>
                          {t.topic}
                          {t.sourceTopic !== undefined ? <div className="muted small">from {t.sourceTopic}</div> : null}
                        </td>
                        <td className="num">{t.truncated === true ? `${formatInteger(t.total)} or more` : formatInteger(t.total)}</td>
                        <td>
                          <ul className="reasons">
                            {t.byReason.map((r) => (
                              <li key={r.reason}>
                                <span className="reason">{r.reason}</span> <span className="muted">({formatInteger(r.count)})</span>
                                <span className="actions">
                                  <button type="button" className="secondary" onClick={() => setSelection({ service: s.service, topic: t.topic, reason: r.reason })}>
                                    Show records
                                  </button>
                                  <button
                                    type="button"
                                    disabled={busy}
                                    onClick={() =>
                                      void republish(
                                        { service: s.service, topic: t.topic, reason: r.reason },
                                        `Re-publish all ${formatInteger(r.count)} records of ${t.topic} with reason “${r.reason}” to ${t.sourceTopic ?? 'their source topic'}? Consumers are idempotent, but each record will be processed again.`,
                                      )
                                    }
                                  >
                                    Re-publish all with this reason
                                  </button>
                                </span>
                              </li>
                            ))}
                          </ul>
                        </td>
                      </tr>
                    )),
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {selection !== null ? (
        <section className="card" aria-label="Records">
          <h2>
            Records of {selection.topic} with reason “{selection.reason}” <span className="muted">({selection.service})</span>
          </h2>
          {records.state === 'loading' ? (
            <Loading />
          ) : records.state === 'error' ? (
            <ErrorAlert error={records.error} onRetry={records.reload} />
          ) : records.data.records.length === 0 ? (
            <Empty>No records left with this reason: they may have been re-published.</Empty>
          ) : (
            <ul className="plain dlq-records">
              {records.data.records.map((r) => (
                <RecordView
                  key={`${r.partition}-${String(r.offset)}`}
                  record={r}
                  busy={busy}
                  onRepublish={() =>
                    void republish(
                      { service: selection.service, topic: selection.topic, partition: r.partition, offset: r.offset },
                      `Re-publish the record at partition ${r.partition}, offset ${String(r.offset)} of ${selection.topic} to ${r.sourceTopic ?? 'its source topic'}?`,
                    )
                  }
                />
              ))}
            </ul>
          )}
        </section>
      ) : null}

      <section className="card">
        <h2>Audit log</h2>
        {audit.state === 'loading' ? (
          <Loading />
        ) : audit.state === 'error' ? (
          <ErrorAlert error={audit.error} onRetry={audit.reload} />
        ) : audit.data.entries.length === 0 ? (
          <Empty>No re-publishes yet: each one is recorded here with who, when, what and the result.</Empty>
        ) : (
          <ol className="audit" data-testid="audit-log">
            {audit.data.entries.map((e) => (
              <li key={e.id}>
                <time dateTime={e.at}>{formatDateTime(e.at)}</time> <strong>{e.actor}</strong> {e.action} <span className="muted">{describeTarget(e.target)}</span>{' '}
                <span className={`badge badge-${e.result === 'ok' ? 'enabled' : 'failed'}`}>{e.result}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
