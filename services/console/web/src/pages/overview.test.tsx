// @vitest-environment jsdom
import { cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { OverviewPage } from './overview.tsx';

afterEach(cleanup);

/** An answer of GET /api/overview as the console's server gives it (services' shapes inside). */
const overview = {
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-02-15T12:00:00.000Z',
  stages: { awareness: 1204, consideration: 310, conversion: 95, retention: 40, advocacy: 7, at_risk: 12, lapsed: 0 },
  stageFlows: { buckets: [{ start: '2026-01-01T00:00:00.000Z', moves: [{ from: null, to: 'awareness', count: 30 }, { from: 'awareness', to: 'consideration', count: 12 }] }, { start: '2026-02-01T00:00:00.000Z', moves: [] }] },
  months: [
    { start: '2026-01-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z', customerRetentionRate: 0.25, churnRate: 0.75, repeatPurchaseRate: 0.4, nps: 20, byCurrency: { EUR: { averageOrderValue: 40, historicCustomerLifetimeValue: 90 } } },
    { start: '2026-02-01T00:00:00.000Z', end: '2026-02-15T12:00:00.000Z', customerRetentionRate: 0.125, churnRate: 0.875, repeatPurchaseRate: 0.375, nps: -5, byCurrency: { EUR: { averageOrderValue: 42.5, historicCustomerLifetimeValue: 91 }, JPY: { averageOrderValue: 5200, historicCustomerLifetimeValue: 9000 } } },
  ],
  messages: { days: [{ day: '2026-02-01', byCampaign: { welcome: 3, 'win-back': 1 } }] },
  definitions: { stages: 'Customers in each lifecycle stage now.', customerRetentionRate: 'Of the customers who had ordered before the month began, the share who ordered again within it.' },
};

describe('Overview', () => {
  it('shows each stage count as the API gives it, and the latest month’s headline figures', async () => {
    const api = mockApi((call) => (call.path === '/api/overview' ? { body: overview } : undefined));
    renderPage(<OverviewPage />, { fetch: api.fetch, path: '/' });

    expect(screen.getByRole('status').textContent).toBe('Loading…');
    expect((await screen.findByTestId('stage-count-awareness')).textContent).toBe('1204');
    for (const [stage, count] of Object.entries(overview.stages)) expect(screen.getByTestId(`stage-count-${stage}`).textContent).toBe(String(count));

    const retention = screen.getByTestId('metric-retention');
    expect(retention.getAttribute('data-value')).toBe('0.125');
    expect(retention.textContent).toBe('12.5%');
    expect(screen.getByTestId('metric-repeat').getAttribute('data-value')).toBe('0.375');
    expect(screen.getByTestId('metric-nps').textContent).toBe('-5');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Overview');
  });

  it('shows definitions on hover and money charts per currency, never one for all currencies', async () => {
    const api = mockApi((call) => (call.path === '/api/overview' ? { body: overview } : undefined));
    renderPage(<OverviewPage />, { fetch: api.fetch, path: '/' });
    await screen.findByTestId('stage-count-awareness');
    expect(screen.getByRole('heading', { name: /Customers per stage/ }).getAttribute('title')).toBe('Customers in each lifecycle stage now.');
    expect(screen.getByTestId('metric-retention').parentElement?.getAttribute('title')).toMatch(/share who ordered again/);
    expect(screen.getByRole('heading', { name: /Order value and lifetime value \(EUR\)/ })).toBeTruthy();
    expect(screen.getByRole('heading', { name: /Order value and lifetime value \(JPY\)/ })).toBeTruthy();
    expect(screen.queryByRole('heading', { name: /Order value and lifetime value$/ })).toBeNull();
  });

  it('says which service is down when the console answers 502', async () => {
    const api = mockApi(() => ({ status: 502, body: { error: 'classifier did not answer: connection failed', service: 'classifier' } }));
    renderPage(<OverviewPage />, { fetch: api.fetch, path: '/' });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/classifier service did not answer/);
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('says what would fill an empty console', async () => {
    const empty = { ...overview, stages: { awareness: 0 }, stageFlows: { buckets: [] }, months: [], messages: { days: [] } };
    const api = mockApi(() => ({ body: empty }));
    renderPage(<OverviewPage />, { fetch: api.fetch, path: '/' });
    expect(await screen.findByText(/No customers yet/)).toBeTruthy();
    expect(screen.getByText(/No messages sent in this window/)).toBeTruthy();
    expect(screen.getByTestId('metric-retention').textContent).toBe('—');
  });
});
