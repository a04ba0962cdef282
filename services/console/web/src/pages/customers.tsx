import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { z } from 'zod';
import { ApiError } from '../api-client.ts';
import { ErrorAlert } from '../states.tsx';
import { asApiError, useApiClient } from '../use-api.ts';

const Found = z.looseObject({ customerId: z.string() });

export function CustomersPage() {
  const client = useApiClient();
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const query = q.trim();
    if (query === '') return;
    setBusy(true);
    setError(null);
    try {
      const { customerId } = await client.get(`/api/customers/lookup?q=${encodeURIComponent(query)}`, Found);
      void navigate(`/customers/${encodeURIComponent(customerId)}`);
    } catch (err) {
      const e = asApiError(err);
      setError(e.status === 404 ? new ApiError(404, `No customer has the id or email “${query}”. Check the spelling; ids are case-sensitive.`) : e);
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Customers</h1>
      <section className="card">
        <form className="inline-form" onSubmit={(e) => void submit(e)} role="search">
          <label htmlFor="customer-q">Customer id or email</label>
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
        {error !== null ? <ErrorAlert error={error} /> : <p className="muted">Enter a customer id or an email address to see the customer’s profile, timeline and campaigns.</p>}
      </section>
    </>
  );
}
