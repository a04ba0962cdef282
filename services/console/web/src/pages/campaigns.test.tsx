// @vitest-environment jsdom
import { cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { CampaignsPage } from './campaigns.tsx';

afterEach(cleanup);

describe('Campaigns list', () => {
  it('shows sends and conversions from the list, and skips by reason and revenue per variant per currency from each campaign', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/campaigns') {
        return { body: { campaigns: [{ id: 'welcome', name: 'Welcome', enabled: true, sent: 1520, skipped: 12, conversions: 88, revenue: { EUR: 4312.5, JPY: 120000 }, variants: [{ id: 'a' }, { id: 'b' }] }] } };
      }
      if (call.path === '/api/campaigns/welcome') {
        return {
          body: {
            id: 'welcome',
            sent: 1520,
            skipped: { total: 12, byReason: { 'frequency-cap': 9, 'quiet-hours': 3 } },
            conversions: 88,
            revenue: { EUR: 4312.5, JPY: 120000 },
            variants: { a: { sent: 760, conversions: 50, revenue: { EUR: 2500 } }, b: { sent: 760, conversions: 38, revenue: { EUR: 1812.5, JPY: 120000 } } },
            yaml: null,
            file: null,
            locales: [],
            sendsByDay: [],
          },
        };
      }
      return undefined;
    });
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });

    const row = await screen.findByTestId('campaign-row-welcome');
    expect(within(row).getByTestId('campaign-welcome-sent').textContent).toBe('1,520');
    expect(within(row).getByTestId('campaign-welcome-conversions').textContent).toBe('88');
    expect(within(row).getByText('€4,312.50')).toBeTruthy();
    expect(within(row).getByText('¥120,000')).toBeTruthy();

    expect(await within(row).findByText('frequency-cap: 9')).toBeTruthy();
    const variants = within(row).getByRole('table');
    const b = within(variants).getByRole('row', { name: /^b/ });
    expect(within(b).getByText('€1,812.50')).toBeTruthy();
    expect(within(b).getByText('¥120,000')).toBeTruthy();
  });

  it('says how to add a campaign when there is none', async () => {
    const api = mockApi(() => ({ body: { campaigns: [] } }));
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });
    expect(await screen.findByText(/No campaigns: add a campaign file/)).toBeTruthy();
  });
});
