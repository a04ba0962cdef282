// @vitest-environment jsdom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { CampaignsPage } from './campaigns.tsx';

afterEach(cleanup);

describe('Campaigns list', () => {
  it('shows sends, skips by reason, conversions and revenue per variant per currency from the list', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/campaigns') {
        return {
          body: {
            now: '2027-03-10T12:00:00.000Z',
            campaigns: [
              {
                id: 'welcome',
                name: 'Welcome',
                enabled: true,
                sent: 1520,
                skipped: 12,
                skippedByReason: { 'frequency-cap': 9, 'quiet-hours': 3 },
                conversions: 88,
                revenue: { EUR: 4312.5, JPY: 120000 },
                variantStats: { a: { sent: 760, conversions: 50, revenue: { EUR: 2500 } }, b: { sent: 760, conversions: 38, revenue: { EUR: 1812.5, JPY: 120000 } } },
              },
            ],
          },
        };
      }
      return undefined;
    });
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });

    const row = await screen.findByTestId('campaign-row-welcome');
    expect(within(row).getByTestId('campaign-welcome-sent').textContent).toBe('1,520');
    expect(within(row).getByTestId('campaign-welcome-conversions').textContent).toBe('88');
    expect(within(row).getAllByText('€4,312.50').length).toBeGreaterThan(0);
    expect(within(row).getByText('frequency-cap: 9')).toBeTruthy();
    const variants = within(row).getByRole('table');
    const b = within(variants).getByRole('row', { name: /^b/ });
    expect(within(b).getByText('€1,812.50')).toBeTruthy();
    expect(within(b).getByText('¥120,000')).toBeTruthy();
  });

  it('reads last month by the services’ clock and names the campaign that earned the most in each currency', async () => {
    const list = (revenue: Record<string, Record<string, number>>) => ({
      now: '2027-03-10T12:00:00.000Z',
      campaigns: Object.entries(revenue).map(([id, r]) => ({ id, sent: 1, skipped: 0, conversions: 1, revenue: r })),
    });
    const api = mockApi((call) => {
      if (call.path === '/api/campaigns') return { body: list({ 'win-back': { USD: 10 }, 'cross-sell': { USD: 5, EUR: 7 } }) };
      if (call.path === '/api/campaigns?from=2027-02-01T00%3A00%3A00.000Z&to=2027-03-01T00%3A00%3A00.000Z') return { body: list({ 'win-back': { USD: 3 }, 'cross-sell': { USD: 4, EUR: 7 } }) };
      return undefined;
    });
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });
    expect((await screen.findByTestId('top-earners')).textContent).toBe('Most revenue: cross-sell €7.00; win-back $10.00');

    fireEvent.change(screen.getByLabelText('Period'), { target: { value: 'last-month' } });
    await waitFor(() => expect(screen.getByTestId('top-earners').textContent).toBe('Most revenue (last month): cross-sell €7.00; cross-sell $4.00'));
    expect(screen.getByTestId('campaigns-window').textContent).toContain('Feb 1, 2027');
  });

  it('says how to add a campaign when there is none', async () => {
    const api = mockApi(() => ({ body: { campaigns: [] } }));
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });
    expect(await screen.findByText(/No campaigns: add a campaign file/)).toBeTruthy();
  });
});
