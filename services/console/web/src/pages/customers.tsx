import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { z } from 'zod';
import { ApiError } from '../api-client.ts';
import { ErrorAlert } from '../states.tsx';
import { asApiError, useApiClient } from '../use-api.ts';

const Match = z.object({ customerId: z.string(), firstName: z.string().nullable(), name: z.string().nullable(), email: z.string().nullable() });
const Found = z.union([z.object({ customerId: z.string() }), z.object({ matches: z.array(Match), more: z.boolean().default(false) })]);
type Matches = { query: string; matches: z.infer<typeof Match>[]; more: boolean };

export function CustomersPage() {
  const client = useApiClient();
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [matches, setMatches] = useState<Matches | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const query = q.trim();
    if (query === '') return;
    setBusy(true);
    setError(null);
    setMatches(null);
    try {
      const found = await client.get(`/api/customers/lookup?q=${encodeURIComponent(query)}`, Found);
      if ('matches' in found) {
        setMatches({ query, matches: found.matches, more: found.more });
        setBusy(false);
        return;
      }
      void navigate(`/customers/${encodeURIComponent(found.customerId)}`);
    } catch (err) {
      const e = asApiError(err);
      setError(e.status === 404 ? new ApiError(404, `No customer has the id, email or name “${query}”. Check the spelling; ids are case-sensitive.`) : e);
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Customers</h1>
      <section className="card">
        <form className="inline-form" onSubmit={(e) => void submit(e)} role="search">
          <label htmlFor="customer-q">Customer id, email or name</label>
          <input id="customer-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="cus_123 or ada@example.com" autoComplete="off" />
          <button type="submit" disabled={busy || q.trim() === ''}>
            {busy ? 'Looking up…' : 'Look up'}
          </button>
        </form>
        {busy ? (
          <p role="status" className="state state-loading">
            Loading…
          </p>
        ) : null}
        {error !== null ? (
          <ErrorAlert error={error} />
        ) : matches !== null ? (
          <div data-testid="customer-matches">
            <p>
              {matches.more ? 'The first 20 customers' : `${matches.matches.length} customers`} whose name contains “{matches.query}”:
            </p>
            <ul>
              {matches.matches.map((m) => (
                <li key={m.customerId}>
                  <Link to={`/customers/${encodeURIComponent(m.customerId)}`}>{m.customerId}</Link> {m.name ?? m.firstName ?? ''} <span className="muted">{m.email ?? ''}</span>
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="muted">Enter a customer id, an email address or a name to see the customer’s profile, timeline and campaigns.</p>
        )}
      </section>
    </>
  );
}
