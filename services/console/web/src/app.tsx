import { useEffect, useMemo, useRef, useState } from 'react';
import { NavLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { z } from 'zod';
import { createApiClient, type ApiClient } from './api-client.ts';
import { CampaignPage } from './pages/campaign.tsx';
import { CampaignsPage } from './pages/campaigns.tsx';
import { CustomerPage } from './pages/customer.tsx';
import { CustomersPage } from './pages/customers.tsx';
import { DeadLettersPage } from './pages/dead-letters.tsx';
import { LoginPage } from './pages/login.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { SystemPage } from './pages/system.tsx';
import { ErrorAlert, Loading } from './states.tsx';
import { ApiContext, asApiError } from './use-api.ts';
import type { ApiError } from './api-client.ts';

const Session = z.object({ authenticated: z.boolean(), csrfToken: z.string().nullable().optional() });
const Ok = z.unknown();

const links = [
  { to: '/', label: 'Overview' },
  { to: '/campaigns', label: 'Campaigns' },
  { to: '/customers', label: 'Customers' },
  { to: '/dead-letters', label: 'Dead letters' },
  { to: '/system', label: 'System' },
];

function Nav({ client, onSignedOut }: { client: ApiClient; onSignedOut: () => void }) {
  return (
    <header className="topbar">
      <span className="brand">Lifecycle console</span>
      <nav aria-label="Main">
        <ul>
          {links.map((l) => (
            <li key={l.to}>
              <NavLink to={l.to} end={l.to === '/'}>
                {l.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <button
        type="button"
        className="link-button"
        onClick={() => {
          void client.post('/api/logout', {}, Ok).finally(() => {
            client.setCsrfToken(null);
            onSignedOut();
          });
        }}
      >
        Sign out
      </button>
    </header>
  );
}

/** The app: one API client for every page; a 401 anywhere sends the person to /login. */
export function App() {
  const navigate = useNavigate();
  const location = useLocation();
  const navigateRef = useRef(navigate);
  navigateRef.current = navigate;
  const locationRef = useRef(location);
  locationRef.current = location;
  const [session, setSession] = useState<'checking' | 'in' | 'out'>('checking');
  const [sessionError, setSessionError] = useState<ApiError | null>(null);
  const [sessionCheck, setSessionCheck] = useState(0);

  const client = useMemo(
    () =>
      createApiClient({
        onUnauthorized: () => {
          setSession('out');
          const from = locationRef.current.pathname;
          if (from !== '/login') void navigateRef.current('/login', { replace: true, state: { from: from + locationRef.current.search } });
        },
      }),
    [],
  );

  useEffect(() => {
    client.get('/api/session', Session).then(
      (s) => {
        client.setCsrfToken(s.csrfToken ?? null);
        if (s.authenticated) setSession('in');
        else {
          setSession('out');
          const from = locationRef.current.pathname;
          if (from !== '/login') void navigateRef.current('/login', { replace: true, state: { from: from + locationRef.current.search } });
        }
      },
      (err: unknown) => {
        // 401 is handled by the client (to /login); anything else: the console itself is unwell.
        const e = asApiError(err);
        if (e.status !== 401) setSessionError(e);
      },
    );
  }, [client, sessionCheck]);

  const onSignedIn = (csrfToken: string) => {
    client.setCsrfToken(csrfToken);
    setSession('in');
  };

  return (
    <ApiContext.Provider value={client}>
      {location.pathname === '/login' ? (
        <main className="login-main">
          <LoginPage onSignedIn={onSignedIn} />
        </main>
      ) : sessionError !== null ? (
        <main>
          <h1>Lifecycle console</h1>
          <ErrorAlert
            error={sessionError}
            onRetry={() => {
              setSessionError(null);
              setSessionCheck((n) => n + 1);
            }}
          />
        </main>
      ) : session === 'checking' ? (
        <main>
          <Loading />
        </main>
      ) : (
        <>
          <Nav
            client={client}
            onSignedOut={() => {
              setSession('out');
              void navigate('/login', { replace: true });
            }}
          />
          <main>
            <Routes>
              <Route path="/" element={<OverviewPage />} />
              <Route path="/campaigns" element={<CampaignsPage />} />
              <Route path="/campaigns/:id" element={<CampaignPage />} />
              <Route path="/customers" element={<CustomersPage />} />
              <Route path="/customers/:id" element={<CustomerPage />} />
              <Route path="/dead-letters" element={<DeadLettersPage />} />
              <Route path="/system" element={<SystemPage />} />
              <Route
                path="*"
                element={
                  <>
                    <h1>Not found</h1>
                    <p>There is no page at this address. Use the links above.</p>
                  </>
                }
              />
            </Routes>
          </main>
        </>
      )}
    </ApiContext.Provider>
  );
}
