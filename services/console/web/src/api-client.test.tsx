// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createApiClient } from './api-client.ts';
import { App } from './app.tsx';
import { mockApi } from './test-support.tsx';
import { z } from 'zod';

const Anything = z.unknown();

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('api client', () => {
  it('calls the login redirect on a 401 and rejects with a sentence', async () => {
    const api = mockApi(() => ({ status: 401, body: { error: 'not signed in' } }));
    const onUnauthorized = vi.fn();
    const client = createApiClient({ fetch: api.fetch, onUnauthorized });
    const failure = await client.get('/api/campaigns', Anything).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 401, message: 'Your session has ended. Sign in again.' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('does not redirect when a login is refused: the form shows it', async () => {
    const api = mockApi(() => ({ status: 401, body: { error: 'wrong password' } }));
    const onUnauthorized = vi.fn();
    const client = createApiClient({ fetch: api.fetch, onUnauthorized });
    await expect(client.post('/api/login', { password: 'nope' }, Anything)).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('sends the session CSRF token on a POST, fetching it from /api/session when it has none', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/session') return { body: { authenticated: true, csrfToken: 'token-from-session' } };
      if (call.path === '/api/dead-letters/republish') return { body: { republished: [] } };
      return undefined;
    });
    const client = createApiClient({ fetch: api.fetch, onUnauthorized: () => {} });
    await client.post('/api/dead-letters/republish', { service: 'scheduler', topic: 't.dlq', reason: 'invalid' }, Anything);
    const post = api.calls.find((c) => c.method === 'POST');
    expect(post?.headers['x-csrf-token']).toBe('token-from-session');
    expect(post?.headers['content-type']).toBe('application/json');
    expect(post?.body).toEqual({ service: 'scheduler', topic: 't.dlq', reason: 'invalid' });

    client.setCsrfToken('token-from-login');
    await client.post('/api/dead-letters/republish', { service: 'scheduler', topic: 't.dlq', reason: 'invalid' }, Anything);
    expect(api.calls.at(-1)?.headers['x-csrf-token']).toBe('token-from-login');
    expect(api.calls.filter((c) => c.path === '/api/session')).toHaveLength(1);
  });

  it('names the service that did not answer on a 502', async () => {
    const api = mockApi(() => ({ status: 502, body: { error: 'classifier did not answer: connection failed', service: 'classifier' } }));
    const client = createApiClient({ fetch: api.fetch, onUnauthorized: () => {} });
    await expect(client.get('/api/overview', Anything)).rejects.toThrow(/The classifier service did not answer/);
  });

  it('sends a person whose session ended to the login page from any page', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/session') return { body: { authenticated: true, csrfToken: 'x' } };
      if (call.path === '/api/campaigns') return { status: 401, body: { error: 'not signed in' } };
      return undefined;
    });
    vi.stubGlobal('fetch', api.fetch);
    render(
      <MemoryRouter initialEntries={['/campaigns']}>
        <App />
      </MemoryRouter>,
    );
    expect(await screen.findByRole('heading', { level: 1, name: 'Login' })).toBeTruthy();
    expect(screen.getByLabelText('Password')).toBeTruthy();
    expect(api.calls.map((c) => c.path)).toContain('/api/campaigns');
  });

  it('says the console cannot be reached when its session check fails, instead of showing empty pages', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    render(
      <MemoryRouter initialEntries={['/']}>
        <App />
      </MemoryRouter>,
    );
    expect((await screen.findByRole('alert')).textContent).toMatch(/console’s server cannot be reached/);
    expect(screen.queryByRole('navigation')).toBeNull();
  });
});
