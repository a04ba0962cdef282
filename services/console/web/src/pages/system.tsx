import { z } from 'zod';
import { formatInteger } from '../format.ts';
import { Empty, ErrorAlert, Loading } from '../states.tsx';
import { useApi } from '../use-api.ts';
import { LowPoolWarning } from './coupons.tsx';

const LagRow = z.looseObject({
  groupId: z.string(),
  topic: z.string(),
  partition: z.number(),
  lag: z.number().nullable(),
  committed: z.union([z.string(), z.number()]).nullable().optional(),
  high: z.union([z.string(), z.number()]).nullable().optional(),
});
const ServiceStatus = z.looseObject({
  service: z.string(),
  url: z.string().optional(),
  ready: z.boolean(),
  checks: z.record(z.string(), z.boolean()).nullable().default(null),
  lag: z.array(LagRow).nullable().default(null),
  error: z.string().nullable().optional(),
});
const SystemAnswer = z.looseObject({ services: z.array(ServiceStatus) });
type ServiceStatus = z.infer<typeof ServiceStatus>;

/** Readiness checks as the services name them; broker and database first, as the operator looks for them. */
function orderedChecks(checks: Record<string, boolean>): [string, boolean][] {
  const weight = (name: string) => (/kafka|broker/i.test(name) ? 0 : /database|postgres|db/i.test(name) ? 1 : 2);
  return Object.entries(checks).sort((a, b) => weight(a[0]) - weight(b[0]) || a[0].localeCompare(b[0]));
}

type LagRow = z.infer<typeof LagRow>;

/** One row per group and topic, partitions in order: what an operator scans for a stuck consumer. */
export function lagByGroupAndTopic(rows: LagRow[]): { groupId: string; topic: string; lag: number; partitions: LagRow[] }[] {
  const groups = new Map<string, { groupId: string; topic: string; lag: number; partitions: LagRow[] }>();
  for (const r of rows) {
    const key = `${r.groupId}\n${r.topic}`;
    const g = groups.get(key) ?? { groupId: r.groupId, topic: r.topic, lag: 0, partitions: [] };
    g.lag += r.lag ?? 0;
    g.partitions.push(r);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ ...g, partitions: g.partitions.sort((a, b) => a.partition - b.partition) })).sort((a, b) => a.groupId.localeCompare(b.groupId) || a.topic.localeCompare(b.topic));
}

/** The topic prefix every group and topic shares (`demo.`, a test's own), shown once instead of on every row. */
export function sharedPrefix(names: string[]): string {
  if (names.length === 0) return '';
  let prefix = names[0] ?? '';
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('.');
  return cut < 0 ? '' : prefix.slice(0, cut + 1);
}

const withoutPrefix = (name: string, prefix: string): string => (prefix !== '' && name.startsWith(prefix) ? name.slice(prefix.length) : name);

function ServiceCard({ s, prefix }: { s: ServiceStatus; prefix: string }) {
  const totalLag = s.lag?.reduce((n, r) => n + (r.lag ?? 0), 0) ?? null;
  return (
    <section className="card" data-testid={`service-${s.service}`} data-ready={String(s.ready)}>
      <h2>
        {s.service} <span className={`badge badge-${s.ready ? 'enabled' : 'failed'}`}>{s.ready ? 'ready' : 'not ready'}</span>
      </h2>
      {s.url !== undefined ? <p className="muted small">{s.url}</p> : null}
      {s.error !== null && s.error !== undefined ? (
        <p role="alert" className="state state-error">
          {s.service} did not answer every question: {s.error}.
        </p>
      ) : null}
      <h3>Readiness</h3>
      {s.checks === null ? (
        <p className="muted">No readiness details: the service did not say which of its parts are ready.</p>
      ) : (
        <ul className="checks">
          {orderedChecks(s.checks).map(([name, ok]) => (
            <li key={name} data-ok={String(ok)}>
              <span className={ok ? 'dot ok' : 'dot bad'} aria-hidden="true" /> {name}: {ok ? 'ok' : 'failing'}
            </li>
          ))}
        </ul>
      )}
      <h3 title="Records on each partition that the consumer group has not committed yet.">Consumer lag{totalLag !== null ? ` (${formatInteger(totalLag)} in all)` : ''}</h3>
      {s.lag === null ? (
        <p className="muted">No lag figures: the service did not answer them.</p>
      ) : s.lag.length === 0 ? (
        <Empty>No consumer groups: this service consumes no topics yet.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Topic</th>
                <th scope="col" className="num">
                  Lag
                </th>
                <th scope="col">Per partition</th>
              </tr>
            </thead>
            <tbody>
              {lagByGroupAndTopic(s.lag).map((g) => (
                <tr key={`${g.groupId}-${g.topic}`} className={g.lag > 0 ? 'lagging' : undefined} data-testid={`lag-${g.groupId}-${g.topic}`}>
                  <td>{withoutPrefix(g.groupId, prefix)}</td>
                  <td>{withoutPrefix(g.topic, prefix)}</td>
                  <td className="num">{formatInteger(g.lag)}</td>
                  <td className="small">
                    {g.partitions.map((r, i) => (
                      <span key={r.partition} title={r.committed !== undefined && r.high !== undefined ? `committed ${String(r.committed ?? 'nothing')}, high watermark ${String(r.high)}` : undefined}>
                        {i > 0 ? ' · ' : ''}p{r.partition} {formatInteger(r.lag)}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/**
 * The broker and the database as the services see them: the database is each service's `database`
 * readiness check; the broker answered when a service could read its consumer lag from it.
 */
export function infrastructure(services: ServiceStatus[]): { broker: 'answering' | 'not answering' | 'unknown'; database: 'ok' | 'failing' | 'unknown'; failingDatabase: string[] } {
  const answered = services.filter((s) => s.ready || s.checks !== null);
  const broker = answered.length === 0 ? 'unknown' : answered.some((s) => s.lag !== null) ? 'answering' : 'not answering';
  const withCheck = services.filter((s) => s.checks !== null && 'database' in s.checks);
  const failingDatabase = withCheck.filter((s) => s.checks?.database === false).map((s) => s.service);
  const database = withCheck.length === 0 ? 'unknown' : failingDatabase.length === 0 ? 'ok' : 'failing';
  return { broker, database, failingDatabase };
}

function Infrastructure({ services }: { services: ServiceStatus[] }) {
  const { broker, database, failingDatabase } = infrastructure(services);
  return (
    <section className="card" aria-label="Broker and database">
      <ul className="checks">
        <li data-testid="broker" data-ok={String(broker === 'answering')}>
          <span className={broker === 'answering' ? 'dot ok' : 'dot bad'} aria-hidden="true" /> Kafka broker:{' '}
          {broker === 'answering' ? 'answering (the services read their consumer lag from it)' : broker === 'not answering' ? 'not answering: no service could read its consumer lag' : 'unknown: no service answered'}
        </li>
        <li data-testid="database" data-ok={String(database === 'ok')}>
          <span className={database === 'ok' ? 'dot ok' : 'dot bad'} aria-hidden="true" /> PostgreSQL:{' '}
          {database === 'ok' ? 'every service reaches its schema' : database === 'failing' ? `not reached by ${failingDatabase.join(', ')}` : 'unknown: no service reported it'}
        </li>
      </ul>
    </section>
  );
}

const prefix = (services: ServiceStatus[]): string => sharedPrefix(services.flatMap((s) => (s.lag ?? []).flatMap((r) => [r.groupId, r.topic])));

export function SystemPage() {
  const result = useApi('/api/system', SystemAnswer);
  return (
    <>
      <div className="page-head">
        <h1>System</h1>
        <button type="button" className="secondary" onClick={result.reload}>
          Refresh
        </button>
      </div>
      <LowPoolWarning />
      {result.state === 'loading' ? (
        <Loading />
      ) : result.state === 'error' ? (
        <ErrorAlert error={result.error} onRetry={result.reload} />
      ) : result.data.services.length === 0 ? (
        <Empty>No services configured.</Empty>
      ) : (
        <>
          <Infrastructure services={result.data.services} />
          {prefix(result.data.services) !== '' ? <p className="muted">Groups and topics below are under the prefix {prefix(result.data.services)}</p> : null}
        <div className="grid">
          {result.data.services.map((s) => (
            <ServiceCard key={s.service} s={s} prefix={prefix(result.data.services)} />
          ))}
        </div>
        </>
      )}
    </>
  );
}
