import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '@lifecycle/kit/command';
import { PrivacyServices, type PrivacyKind, type PrivacyService } from '@lifecycle/contracts';

/**
 * `./lifecycle privacy:erase CUSTOMER_ID` and `privacy:export CUSTOMER_ID`: ask messaging (which
 * coordinates privacy requests) to have every service erase or export the customer's data, then
 * wait for the four confirmations, printing each as it comes.
 */

interface Confirmation {
  confirmedAt: string;
  summary: Record<string, number>;
  kept: string[];
}

interface RequestView {
  requestId: string;
  kind: PrivacyKind;
  customerId: string;
  requestedAt: string;
  status: 'pending' | 'complete';
  services: Partial<Record<PrivacyService, Confirmation | null>>;
  export?: Record<string, unknown>;
}

export interface PrivacyRequestOptions {
  kind: PrivacyKind;
  customerId: string;
  /** Messaging's base URL. */
  messagingUrl: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Export only: where the JSON file goes. */
  out?: string;
  requestedBy?: string;
  say: (line: string) => void;
  pollMs?: number;
}

function describe(service: PrivacyService, c: Confirmation): string {
  const counts = Object.entries(c.summary).map(([table, n]) => `${table} ${n}`);
  return `${service} confirmed${counts.length === 0 ? '' : `: ${counts.join(', ')}`}${c.kept.length === 0 ? '' : ` (kept: ${c.kept.join('; ')})`}`;
}

async function answer(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: messaging answered ${response.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** Asks, waits and reports; resolves to the exit code (0: all four confirmed, 1: not in time). */
export async function runPrivacyRequest(opts: PrivacyRequestOptions): Promise<number> {
  const base = opts.messagingUrl.replace(/\/$/, '');
  const headers = { ...opts.headers, 'content-type': 'application/json' };
  const created = (await answer(
    await fetch(`${base}/admin/privacy/requests`, { method: 'POST', headers, body: JSON.stringify({ customerId: opts.customerId, kind: opts.kind, requestedBy: opts.requestedBy ?? 'cli' }) }),
    'the request was refused',
  )) as { requestId: string };
  opts.say(`${opts.kind} of customer ${opts.customerId} requested (request ${created.requestId}); waiting for ${PrivacyServices.join(', ')}`);
  const deadline = Date.now() + opts.timeoutMs;
  const told = new Set<PrivacyService>();
  for (;;) {
    const view = (await answer(await fetch(`${base}/admin/privacy/requests/${encodeURIComponent(created.requestId)}`, { headers: opts.headers }), 'the request could not be read')) as RequestView;
    for (const service of PrivacyServices) {
      const c = view.services[service];
      if (c !== null && c !== undefined && !told.has(service)) {
        told.add(service);
        opts.say(describe(service, c));
      }
    }
    if (view.status === 'complete') {
      if (opts.kind === 'export') {
        const file = resolve(opts.out ?? `privacy-export-${opts.customerId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
        writeFileSync(file, `${JSON.stringify({ customerId: view.customerId, requestId: view.requestId, requestedAt: view.requestedAt, services: view.export ?? {} }, null, 2)}\n`, { mode: 0o600 });
        opts.say(`export written to ${file}`);
      }
      opts.say(`all ${PrivacyServices.length} services confirmed`);
      return 0;
    }
    if (Date.now() >= deadline) {
      const missing = PrivacyServices.filter((s) => !told.has(s));
      opts.say(`no confirmation within ${Math.round(opts.timeoutMs / 1000)} s from ${missing.join(', ')}; the request stays recorded (GET /admin/privacy/requests/${created.requestId}) and completes when they answer`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** Parses a privacy command's arguments: one customer id, and for export `--out`; `--timeout` for both. */
export function parsePrivacyArgs(kind: PrivacyKind, args: string[]): { customerId: string; out: string | undefined; timeoutMs: number } {
  const { values, positionals } = parseArgs({ args, options: { out: { type: 'string' }, timeout: { type: 'string', default: '120' } }, allowPositionals: true, strict: true });
  const [customerId, ...rest] = positionals;
  if (customerId === undefined || customerId.trim() === '' || rest.length > 0) throw new UsageError(`privacy:${kind} takes one customer id`);
  if (kind === 'erase' && values.out !== undefined) throw new UsageError('privacy:erase writes no file: --out is for privacy:export');
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout takes a number of seconds, not ${values.timeout}`);
  return { customerId, out: values.out, timeoutMs: seconds * 1000 };
}
