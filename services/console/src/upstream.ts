import type { Logger } from '@lifecycle/kit';

export const serviceNames = ['ingestion', 'classifier', 'scheduler', 'messaging'] as const;
export type UpstreamService = (typeof serviceNames)[number];

export function isUpstreamService(name: string): name is UpstreamService {
  return serviceNames.some((s) => s === name);
}

/** A service that did not answer, or answered 5xx: the console answers 502 naming it. */
export class UpstreamDown extends Error {
  override name = 'UpstreamDown';
  readonly service: UpstreamService;
  readonly reason: string;
  constructor(service: UpstreamService, reason: string) {
    super(`${service} is unavailable: ${reason}`);
    this.service = service;
    this.reason = reason;
  }
}

/** A service's 4xx, passed on to the app with its status and message. */
export class UpstreamRefused extends Error {
  override name = 'UpstreamRefused';
  readonly service: UpstreamService;
  readonly status: number;
  constructor(service: UpstreamService, status: number, message: string) {
    super(message);
    this.service = service;
    this.status = status;
  }
}

export type UpstreamAnswer<T> = { status: 'ok'; body: T } | { status: 'not-found' };

export interface UpstreamOptions {
  urls: Record<UpstreamService, string>;
  /** Sent as `Authorization: Bearer`; unset, no header. */
  token: string | undefined;
  timeoutMs: number;
  logger: Logger;
  fetch?: typeof fetch;
}

/**
 * The one way the console talks to the services: their HTTP APIs with the service token and a
 * timeout. A connection failure, a timeout or a 5xx is `UpstreamDown`; a 404 is a value (the
 * customer may be unknown to one service); any other 4xx is `UpstreamRefused`.
 */
export function createUpstream(opts: UpstreamOptions) {
  const doFetch = opts.fetch ?? fetch;
  const headers = (extra: Record<string, string>): Record<string, string> => ({
    accept: 'application/json',
    ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
    ...extra,
  });

  async function request(service: UpstreamService, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
    const url = `${opts.urls[service]}${path}`;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: init.method ?? 'GET',
        headers: headers(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : 'connection failed';
      opts.logger.warn({ upstream: service, path: path.split('?')[0], reason }, 'service did not answer');
      throw new UpstreamDown(service, reason);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      opts.logger.warn({ upstream: service, path: path.split('?')[0], status: response.status }, 'service answered with an error');
      throw new UpstreamDown(service, `answered ${response.status}`);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      opts.logger.error({ upstream: service, status: response.status }, 'service refused the service token');
      throw new UpstreamDown(service, 'refused the console\'s service token (is SERVICE_TOKEN the same for both?)');
    }
    return response;
  }

  async function errorMessage(response: Response): Promise<string> {
    const text = await response.text().catch(() => '');
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'string') return parsed.error;
    } catch {
      // not JSON: the status says enough
    }
    return `answered ${response.status}`;
  }

  async function json(service: UpstreamService, response: Response): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      throw new UpstreamDown(service, 'answered with something other than JSON');
    }
  }

  return {
    urls: opts.urls,
    /** GET, JSON; a 404 is `not-found`. */
    async get(service: UpstreamService, path: string): Promise<UpstreamAnswer<unknown>> {
      const response = await request(service, path);
      if (response.status === 404) {
        await response.body?.cancel();
        return { status: 'not-found' };
      }
      if (response.status >= 400) throw new UpstreamRefused(service, response.status, await errorMessage(response));
      return { status: 'ok', body: await json(service, response) };
    },
    /** GET, JSON; a 404 is passed on to the app as it is. */
    async getFound(service: UpstreamService, path: string): Promise<unknown> {
      const response = await request(service, path);
      if (response.status >= 400) throw new UpstreamRefused(service, response.status, await errorMessage(response));
      return json(service, response);
    },
    /** GET of a page (HTML), with its status. */
    async getText(service: UpstreamService, path: string): Promise<{ status: number; contentType: string; text: string }> {
      const response = await request(service, path);
      return { status: response.status, contentType: response.headers.get('content-type') ?? 'text/plain', text: await response.text() };
    },
    async post(service: UpstreamService, path: string, body: unknown): Promise<unknown> {
      const response = await request(service, path, { method: 'POST', body });
      if (response.status >= 400) throw new UpstreamRefused(service, response.status, await errorMessage(response));
      return json(service, response);
    },
    /** `/readyz` as it is, ready or not (503 is an answer here). */
    async readiness(service: UpstreamService): Promise<{ ready: boolean; body: unknown }> {
      let response: Response;
      try {
        response = await doFetch(`${opts.urls[service]}/readyz`, { headers: headers({}), signal: AbortSignal.timeout(opts.timeoutMs) });
      } catch (err) {
        throw new UpstreamDown(service, err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : 'connection failed');
      }
      const body = await response.json().catch(() => null);
      return { ready: response.status === 200, body };
    },
  };
}
export type Upstream = ReturnType<typeof createUpstream>;
