// @vitest-environment jsdom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { DeadLettersPage } from './dead-letters.tsx';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const topic = 'lifecycle.events.v1.dlq';
const record = {
  topic,
  partition: 0,
  offset: '17',
  sourceTopic: 'lifecycle.events.v1',
  sourcePartition: 2,
  sourceOffset: '991',
  reason: 'invalid',
  errors: ['occurredAt: Invalid ISO datetime'],
  attempts: 1,
  deadLetteredAt: '2026-02-01T09:00:00.000Z',
  key: 'cus_1',
  valueUtf8: '{"type":"order_completed","occurredAt":"yesterday"}',
  valueBase64: 'eyJ0eXBlIjoib3JkZXJfY29tcGxldGVkIn0=',
};

/** A console whose scheduler has two dead letters; re-publishing one removes it. */
function consoleApi() {
  let republished = false;
  const audit: unknown[] = [];
  return mockApi((call) => {
    if (call.path === '/api/dead-letters') {
      const total = republished ? 1 : 2;
      return {
        body: {
          services: [
            { service: 'ingestion', topics: [] },
            { service: 'scheduler', topics: [{ topic, sourceTopic: 'lifecycle.events.v1', total, byReason: [{ reason: 'invalid', count: total }] }] },
          ],
        },
      };
    }
    if (call.path.startsWith('/api/dead-letters/records?')) return { body: { records: republished ? [] : [record, { ...record, offset: '18' }] } };
    if (call.path === '/api/audit') return { body: { entries: audit } };
    if (call.path === '/api/dead-letters/republish' && call.method === 'POST') {
      republished = true;
      audit.push({ id: 1, at: '2026-02-02T10:00:00.000Z', actor: 'operator', action: 'dead-letters.republish', target: { service: 'scheduler', topic, partition: 0, offset: '17' }, result: 'ok', detail: {} });
      return { body: { republished: [{ partition: 2, offset: '991', sourceTopic: 'lifecycle.events.v1' }], auditId: 1 } };
    }
    return undefined;
  });
}

describe('Dead letters', () => {
  it('re-publishes one record after a confirmation, then shows the new counts and the audit entry', async () => {
    const api = consoleApi();
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(true);
    renderPage(<DeadLettersPage />, { fetch: api.fetch, path: '/dead-letters' });

    const row = await screen.findByTestId(`dlq-row-scheduler-${topic}`);
    expect(row.getAttribute('data-total')).toBe('2');
    expect(await screen.findByText(/No re-publishes yet/)).toBeTruthy();

    fireEvent.click(within(row).getByRole('button', { name: 'Show records' }));
    const first = await screen.findByTestId('dlq-record-0-17');
    expect(within(first).getByText('occurredAt: Invalid ISO datetime')).toBeTruthy();
    expect(within(first).getByText(record.valueUtf8)).toBeTruthy();
    expect(api.calls.some((c) => c.path === `/api/dead-letters/records?service=scheduler&topic=${encodeURIComponent(topic)}&reason=invalid`)).toBe(true);

    fireEvent.click(within(first).getByRole('button', { name: 'Re-publish' }));
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(confirm.mock.calls[0]?.[0]).toMatch(/partition 0, offset 17 of lifecycle\.events\.v1\.dlq to lifecycle\.events\.v1/);

    expect((await screen.findByText(/Re-published 1 record to lifecycle\.events\.v1\./)).getAttribute('role')).toBe('status');
    const post = api.calls.find((c) => c.method === 'POST');
    expect(post?.path).toBe('/api/dead-letters/republish');
    expect(post?.body).toEqual({ service: 'scheduler', topic, partition: 0, offset: '17' });
    expect(post?.headers['x-csrf-token']).toBe('csrf-test-token');

    await waitFor(() => expect(screen.getByTestId(`dlq-row-scheduler-${topic}`).getAttribute('data-total')).toBe('1'));
    const log = await screen.findByTestId('audit-log');
    expect(within(log).getAllByRole('listitem')).toHaveLength(1);
    expect(log.textContent).toMatch(/operator dead-letters\.republish/);
    expect(await screen.findByText(/No records left with this reason/)).toBeTruthy();
  });

  it('sends nothing when the operator cancels the confirmation', async () => {
    const api = consoleApi();
    vi.spyOn(window, 'confirm').mockReturnValue(false);
    renderPage(<DeadLettersPage />, { fetch: api.fetch, path: '/dead-letters' });
    const row = await screen.findByTestId(`dlq-row-scheduler-${topic}`);
    fireEvent.click(within(row).getByRole('button', { name: 'Re-publish all with this reason' }));
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
    expect(row.getAttribute('data-total')).toBe('2');
  });

  it('re-publishes every record of a reason with one POST naming the reason', async () => {
    const api = consoleApi();
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    renderPage(<DeadLettersPage />, { fetch: api.fetch, path: '/dead-letters' });
    const row = await screen.findByTestId(`dlq-row-scheduler-${topic}`);
    fireEvent.click(within(row).getByRole('button', { name: 'Re-publish all with this reason' }));
    await screen.findByText(/Re-published 1 record/);
    expect(api.calls.find((c) => c.method === 'POST')?.body).toEqual({ service: 'scheduler', topic, reason: 'invalid' });
  });
});
