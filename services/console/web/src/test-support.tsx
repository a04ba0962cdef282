import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { vi } from 'vitest';
import { createApiClient } from './api-client.ts';
import { ApiContext } from './use-api.ts';

// jsdom has no canvas; ECharts only measures text with it, and copes with none. Say so quietly.
if (typeof HTMLCanvasElement !== 'undefined') Object.defineProperty(HTMLCanvasElement.prototype, 'getContext', { value: () => null });

export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type Handler = (call: Call) => { status?: number; body: unknown } | undefined;

/**
 * A fetch stand-in for the console's /api: `handler` answers each call (undefined → 404), and
 * every call is recorded with its method, path, headers and parsed JSON body.
 */
export function mockApi(handler: Handler) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = typeof input === 'string' ? input : input instanceof URL ? input.pathname + input.search : input.url;
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const call = { method: init?.method ?? 'GET', path, headers, body };
    calls.push(call);
    const answer = handler(call) ?? { status: 404, body: { error: 'not found' } };
    return new Response(JSON.stringify(answer.body), { status: answer.status ?? 200, headers: { 'content-type': 'application/json' } });
  });
  return { fetch, calls };
}

/** Renders one page at `path` (matched by `route`) with an API client over the given fetch. */
export function renderPage(page: ReactNode, opts: { fetch: typeof fetch; path: string; route?: string; onUnauthorized?: () => void }) {
  const client = createApiClient({ fetch: opts.fetch, onUnauthorized: opts.onUnauthorized ?? (() => {}) });
  client.setCsrfToken('csrf-test-token');
  return render(
    <ApiContext.Provider value={client}>
      <MemoryRouter initialEntries={[opts.path]}>
        <Routes>
          <Route path={opts.route ?? opts.path} element={page} />
          <Route path="/login" element={<h1>Login</h1>} />
        </Routes>
      </MemoryRouter>
    </ApiContext.Provider>,
  );
}
