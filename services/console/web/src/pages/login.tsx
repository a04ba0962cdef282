import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { z } from 'zod';
import { ApiError } from '../api-client.ts';
import { useApiClient } from '../use-api.ts';

const LoginAnswer = z.object({ csrfToken: z.string() });
const FromState = z.object({ from: z.string().startsWith('/') });

export function LoginPage({ onSignedIn }: { onSignedIn: (csrfToken: string) => void }) {
  const client = useApiClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { csrfToken } = await client.post('/api/login', { password }, LoginAnswer);
      onSignedIn(csrfToken);
      const from = FromState.safeParse(location.state);
      void navigate(from.success && from.data.from !== '/login' ? from.data.from : '/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('That password is not right. Try again.');
      else setError(err instanceof Error ? err.message : 'Signing in failed. Try again.');
      setBusy(false);
    }
  };

  return (
    <section className="login card">
      <h1>Login</h1>
      <p className="muted">Sign in to the Lifecycle console.</p>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="password">Password</label>
        <input id="password" type="password" autoComplete="current-password" autoFocus required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" disabled={busy || password === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error !== null ? (
        <p role="alert" className="state state-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
