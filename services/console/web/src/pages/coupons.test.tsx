// @vitest-environment jsdom
import { cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { CampaignPage } from './campaign.tsx';
import { CampaignsPage } from './campaigns.tsx';
import { SystemPage } from './system.tsx';

afterEach(cleanup);

const pools = [
  { pool: 'birthday', kind: 'generated', available: null, issued: 40, redeemed: 7, low: false },
  { pool: 'win-back', kind: 'imported', available: 12, issued: 88, redeemed: 9, low: true },
];
const birthday = { id: 'birthday', name: 'Birthday', enabled: true, sent: 40, skipped: 0, conversions: 8, revenue: { EUR: 129.9 } };

describe('coupons in the console', () => {
  it('shows a campaign’s codes issued, redeemed, rate and revenue per currency per variant, and codes used twice', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/campaigns/birthday') return { body: { ...birthday, yaml: 'offer: { pool: birthday }', templateId: 'birthday', sendsByDay: [] } };
      if (call.path === '/api/coupons?campaignId=birthday') {
        return {
          body: {
            available: true,
            pools,
            campaigns: [
              { campaignId: 'birthday', variant: 'b', issued: 20, redeemed: 2, redemptionRate: 0.1, redeemedMoreThanOnce: 0, revenue: [{ currency: 'EUR', amountMinor: 4990, amount: 49.9 }] },
              { campaignId: 'birthday', variant: 'a', issued: 20, redeemed: 5, redemptionRate: 0.25, redeemedMoreThanOnce: 1, revenue: [{ currency: 'JPY', amountMinor: 3200, amount: 3200 }, { currency: 'EUR', amountMinor: 8000, amount: 80 }] },
            ],
          },
        };
      }
      return undefined;
    });
    renderPage(<CampaignPage />, { fetch: api.fetch, path: '/campaigns/birthday', route: '/campaigns/:id' });
    const table = await screen.findByTestId('campaign-coupons');
    const a = within(table).getByTestId('coupons-variant-a');
    expect(within(a).getByTestId('coupons-issued').textContent).toBe('20');
    expect(within(a).getByTestId('coupons-redeemed').textContent).toBe('5');
    expect(within(a).getByTestId('coupons-rate').textContent).toBe('25%');
    expect(within(a).getByText('€80.00')).toBeTruthy();
    expect(within(a).getByText('¥3,200')).toBeTruthy();
    const b = within(table).getByTestId('coupons-variant-b');
    expect(within(b).getByTestId('coupons-rate').textContent).toBe('10%');
    expect(within(b).getByText('€49.90')).toBeTruthy();
    expect(screen.getByTestId('coupons-redeemed-again').textContent).toMatch(/^1 code was used on more than one order/);
  });

  it('shows no coupon figure for a campaign without an offer, nor when messaging has no coupons', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/campaigns/birthday') return { body: { ...birthday, sendsByDay: [] } };
      if (call.path === '/api/coupons?campaignId=birthday') return { body: { available: false, pools: [], campaigns: [] } };
      return undefined;
    });
    renderPage(<CampaignPage />, { fetch: api.fetch, path: '/campaigns/birthday', route: '/campaigns/:id' });
    await screen.findByTestId('campaign-birthday-sent');
    await new Promise((r) => setTimeout(r, 20));
    expect(api.calls.map((c) => c.path)).toContain('/api/coupons?campaignId=birthday');
    expect(screen.queryByTestId('campaign-coupons')).toBeNull();
  });

  it('warns of a pool running low on the campaigns list and the system page', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/coupons') return { body: { available: true, pools, campaigns: [] } };
      if (call.path === '/api/campaigns') return { body: { campaigns: [birthday] } };
      if (call.path === '/api/system') return { body: { services: [] } };
      return undefined;
    });
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });
    const warning = await screen.findByTestId('coupon-pools-low');
    expect(within(warning).getByTestId('coupon-pool-low-win-back').textContent).toBe('win-back (12 codes left)');
    expect(within(warning).queryByTestId('coupon-pool-low-birthday')).toBeNull();
    cleanup();
    renderPage(<SystemPage />, { fetch: api.fetch, path: '/system' });
    expect((await screen.findByTestId('coupon-pools-low')).textContent).toContain('coupons:import');
  });

  it('shows no warning when no pool is low', async () => {
    const api = mockApi((call) => {
      if (call.path === '/api/coupons') return { body: { available: true, pools: [pools[0]], campaigns: [] } };
      if (call.path === '/api/campaigns') return { body: { campaigns: [birthday] } };
      return undefined;
    });
    renderPage(<CampaignsPage />, { fetch: api.fetch, path: '/campaigns' });
    await screen.findByTestId('campaign-row-birthday');
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId('coupon-pools-low')).toBeNull();
  });
});
