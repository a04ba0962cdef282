import type { z } from 'zod';

/** A failed call to the console's /api, with a sentence a person understands. */
export class ApiError extends Error {
  readonly status: number;
  /** The service that did not answer, when the console says which (502). */
  readonly service: string | undefined;
  constructor(status: number, message: string, service?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.service = service;
  }
}

export interface ApiClientOptions {
  /** Called on any 401 except a failed login: the app sends the person to /login. */
  onUnauthorized: () => void;
  /** The fetch to use; tests pass a mock. */
  fetch?: typeof fetch;
}

export interface ApiClient {
  get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>>;
  post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.infer<S>>;
  /** The CSRF token of the session, as GET /api/session or POST /api/login gave it. */
  setCsrfToken(token: string | null): void;
  /** A raw GET for text answers (the template preview's HTML). */
  getText(path: string): Promise<string>;
}

function errorText(body: unknown): { error?: string; service?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const error = 'error' in body && typeof body.error === 'string' ? body.error : undefined;
  const service = 'service' in body && typeof body.service === 'string' ? body.service : undefined;
  return { ...(error !== undefined ? { error } : {}), ...(service !== undefined ? { service } : {}) };
}

function messageFor(status: number, body: unknown): ApiError {
  const { error, service } = errorText(body);
  if (status === 401) return new ApiError(401, 'Your session has ended. Sign in again.');
  if (status === 403) return new ApiError(403, 'The console refused the change because the page’s security token is out of date. Reload the page and try again.');
  if (status === 404) return new ApiError(404, error ?? 'Not found.');
  if (status === 429) return new ApiError(429, error ?? 'Too many attempts. Wait a minute and try again.');
  if (status === 502) {
    // The console says `<service> did not answer: <why>`; keep the why.
    const why = error?.replace(/^\S+ did not answer: /, '');
    return new ApiError(502, `The ${service ?? 'upstream'} service did not answer${why !== undefined ? ` (${why})` : ''}. Check the System page.`, service);
  }
  if (status >= 500) return new ApiError(status, 'The console’s server failed to answer. Try again; if it keeps failing, check its log.');
  return new ApiError(status, error ?? `The request was refused (HTTP ${status}).`);
}

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const doFetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let csrfToken: string | null = null;

  async function send(method: 'GET' | 'POST', path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (method !== 'GET') {
      headers['content-type'] = 'application/json';
      if (csrfToken === null && path !== '/api/login') csrfToken = await fetchCsrfToken();
      if (csrfToken !== null) headers['x-csrf-token'] = csrfToken;
    }
    let response: Response;
    try {
      response = await doFetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw new ApiError(0, 'The console’s server cannot be reached. Check that it is running and your network connection.');
    }
    if (!response.ok) {
      const errorBody: unknown = await response.json().catch(() => null);
      // A wrong password is a 401 too, but it belongs to the login form, not a redirect.
      if (response.status === 401 && path !== '/api/login') opts.onUnauthorized();
      throw messageFor(response.status, errorBody);
    }
    return response;
  }

  async function fetchCsrfToken(): Promise<string | null> {
    const response = await doFetch('/api/session', { headers: { accept: 'application/json' }, credentials: 'same-origin' }).catch(() => null);
    if (response === null || !response.ok) return null;
    const body: unknown = await response.json().catch(() => null);
    return typeof body === 'object' && body !== null && 'csrfToken' in body && typeof body.csrfToken === 'string' ? body.csrfToken : null;
  }

  async function parse<S extends z.ZodType>(response: Response, schema: S): Promise<z.infer<S>> {
    const body: unknown = await response.json().catch(() => undefined);
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ApiError(response.status, 'The console’s server answered in a shape this page does not understand. The app and the server may be of different versions: reload the page.');
    return parsed.data;
  }

  return {
    async get(path, schema) {
      return parse(await send('GET', path), schema);
    },
    async post(path, body, schema) {
      return parse(await send('POST', path, body), schema);
    },
    async getText(path) {
      return (await send('GET', path, undefined, 'text/html, application/json;q=0.9, */*;q=0.5')).text();
    },
    setCsrfToken(token) {
      csrfToken = token;
    },
  };
}
