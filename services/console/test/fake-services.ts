import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UpstreamService } from '../src/upstream.ts';

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
}

export type FakeRoute = (request: SeenRequest) => { status?: number; json?: unknown; html?: string } | undefined;

/**
 * A real HTTP server standing in for one service's API as docs/console.md section 2 gives it:
 * `routes` answers by method and path (undefined: 404), and every request is recorded.
 */
export interface FakeService {
  url: string;
  seen: SeenRequest[];
  routes: Map<string, FakeRoute>;
  close: () => Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeService(): Promise<FakeService> {
  const seen: SeenRequest[] = [];
  const routes = new Map<string, FakeRoute>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: SeenRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, authorization: req.headers.authorization, body: await readBody(req) };
      seen.push(request);
      const answer = routes.get(`${request.method} ${request.path}`)?.(request);
      if (answer === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${request.method} ${request.path}` }));
        return;
      }
      if (answer.html !== undefined) res.writeHead(answer.status ?? 200, { 'content-type': 'text/html; charset=utf-8' }).end(answer.html);
      else res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.json ?? {}));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    routes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export type FakeServices = Record<UpstreamService, FakeService>;

export async function startFakeServices(): Promise<FakeServices> {
  const [ingestion, classifier, scheduler, messaging] = await Promise.all([startFakeService(), startFakeService(), startFakeService(), startFakeService()]);
  return { ingestion, classifier, scheduler, messaging };
}
