// @vitest-environment jsdom
import { cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { CampaignPage } from './campaign.tsx';
import { OverviewPage } from './overview.tsx';

afterEach(cleanup);

const method = 'difference of two proportions, 95% Wald interval (two-proportion z-test)';
/** GET /campaigns/:id/stats `holdout` as docs/measurement-and-consent.md section 2 gives it. */
const holdout = {
  percent: 10,
  mailed: { customers: 1000, converted: 120, conversionRate: 0.12, revenuePerCustomer: { USD: 4.1 } },
  heldOut: { customers: 1000, converted: 80, conversionRate: 0.08, revenuePerCustomer: { USD: 2.9, JPY: 310 } },
  lift: { absolute: 0.04, relative: 0.5, ci95: [0.0138, 0.0662], significant: true, method },
};
const crossSell = { id: 'cross-sell', enabled: true, sent: 1000, skipped: { total: 100, byReason: { held_out: 100 } }, conversions: 120, revenue: { USD: 4100 }, templateId: 'cross-sell', sendsByDay: [] };

function campaignApi(campaign: unknown) {
  return mockApi((call) => (call.path === '/api/campaigns/cross-sell' ? { body: campaign } : undefined));
}

describe('holdout on the campaign page', () => {
  it('shows both groups and the lift with its 95% interval', async () => {
    const api = campaignApi({ ...crossSell, holdout });
    renderPage(<CampaignPage />, { fetch: api.fetch, path: '/campaigns/cross-sell', route: '/campaigns/:id' });
    const block = await screen.findByTestId('campaign-holdout');
    const mailed = within(block).getByTestId('group-mailed');
    expect(within(mailed).getByTestId('group-customers').textContent).toBe('1,000');
    expect(within(mailed).getByTestId('group-rate').textContent).toBe('12%');
    expect(within(mailed).getByText('$4.10')).toBeTruthy();
    const heldOut = within(block).getByTestId('group-held-out');
    expect(within(heldOut).getByTestId('group-converted').textContent).toBe('80');
    expect(within(heldOut).getByTestId('group-rate').textContent).toBe('8%');
    expect(within(heldOut).getByText('¥310')).toBeTruthy();
    const lift = within(block).getByTestId('lift');
    expect(lift.textContent).toBe('Lift: +4.0 pp (+50%), 95% interval +1.4 pp to +6.6 pp: significant gain');
    expect(lift.getAttribute('data-value')).toBe('0.04');
    expect(lift.getAttribute('title')).toBe(method);
  });

  it('says "not significant" when the interval spans 0', async () => {
    const unsure = { ...holdout, lift: { absolute: 0.01, relative: 0.1, ci95: [-0.012, 0.032], significant: false, method } };
    const api = campaignApi({ ...crossSell, holdout: unsure });
    renderPage(<CampaignPage />, { fetch: api.fetch, path: '/campaigns/cross-sell', route: '/campaigns/:id' });
    const lift = await screen.findByTestId('lift');
    expect(within(lift).getByTestId('lift-verdict').textContent).toBe('not significant');
    expect(lift.getAttribute('data-significant')).toBe('false');
  });

  it('shows the groups without a lift while one group is empty', async () => {
    const early = { ...holdout, heldOut: { customers: 0, converted: 0, conversionRate: null, revenuePerCustomer: {} }, lift: null };
    const api = campaignApi({ ...crossSell, holdout: early });
    renderPage(<CampaignPage />, { fetch: api.fetch, path: '/campaigns/cross-sell', route: '/campaigns/:id' });
    const block = await screen.findByTestId('campaign-holdout');
    expect(within(within(block).getByTestId('group-held-out')).getByTestId('group-rate').textContent).toBe('—');
    expect(within(block).queryByTestId('lift')).toBeNull();
    expect(within(block).getByText(/No lift yet/)).toBeTruthy();
  });

  it('shows nothing for a campaign without a holdout, nor for an older scheduler that sends none', async () => {
    const none = { percent: 0, mailed: holdout.mailed, heldOut: { customers: 40, converted: 2, conversionRate: 0.05, revenuePerCustomer: {} }, lift: holdout.lift };
    for (const campaign of [{ ...crossSell, holdout: none }, { ...crossSell, holdout: null }, crossSell, { ...crossSell, holdout: 'not a holdout' }]) {
      const api = campaignApi(campaign);
      renderPage(<CampaignPage />, { fetch: api.fetch, path: '/campaigns/cross-sell', route: '/campaigns/:id' });
      expect((await screen.findByTestId('campaign-cross-sell-sent')).textContent).toBe('1,000');
      expect(screen.queryByTestId('campaign-holdout')).toBeNull();
      expect(screen.queryByText(/Lift/)).toBeNull();
      cleanup();
    }
  });
});

const overview = { from: '2026-01-01T00:00:00.000Z', to: '2026-02-15T12:00:00.000Z', stages: { awareness: 3 }, stageFlows: { buckets: [] }, months: [], messages: { days: [] }, definitions: {} };
const programme = {
  globalControlPercent: 5,
  mailed: { customers: 950, converted: 190, conversionRate: 0.2, revenuePerCustomer: { USD: 12 } },
  control: { customers: 50, converted: 6, conversionRate: 0.12, revenuePerCustomer: { USD: 7.5 } },
  lift: { absolute: 0.08, relative: 0.6667, ci95: [-0.0137, 0.1737], significant: false, method },
};
const sunset = { enabled: true, after: 'P120D', grace: 'P14D', sunset: 37, rePermissionSent: 120, reengaged: 9 };

function overviewApi(measurement: { status?: number; body: unknown } | undefined) {
  return mockApi((call) => (call.path === '/api/overview' ? { body: overview } : call.path === '/api/measurement' ? measurement : undefined));
}

describe('programme lift and sunset on the overview', () => {
  it('shows the programme’s mailed and control groups with the lift, and the sunset count', async () => {
    const api = overviewApi({ body: { programme, sunset } });
    renderPage(<OverviewPage />, { fetch: api.fetch, path: '/' });
    const figure = await screen.findByTestId('programme-lift');
    expect(within(within(figure).getByTestId('group-control')).getByTestId('group-customers').textContent).toBe('50');
    expect(within(within(figure).getByTestId('group-mailed')).getByTestId('group-rate').textContent).toBe('20%');
    expect(within(figure).getByTestId('lift-verdict').textContent).toBe('not significant');
    expect(within(figure).getByTestId('lift').textContent).toContain('+8.0 pp');
    expect(within(figure).getByRole('heading', { name: /Programme lift/ }).getAttribute('title')).toMatch(/5% of customers/);
    const count = screen.getByTestId('sunset-count');
    expect(count.textContent).toBe('37');
    expect(screen.getByRole('heading', { name: /Sunset/ }).getAttribute('title')).toMatch(/P120D.*P14D/);
    expect(screen.getByTestId('stage-count-awareness').textContent).toBe('3');
  });

  it('hides each figure the scheduler does not give, and both when the console cannot ask', async () => {
    const onlySunset = overviewApi({ body: { programme: null, sunset } });
    renderPage(<OverviewPage />, { fetch: onlySunset.fetch, path: '/' });
    expect((await screen.findByTestId('sunset-count')).textContent).toBe('37');
    expect(screen.queryByTestId('programme-lift')).toBeNull();
    cleanup();

    const sunsetOff = overviewApi({ body: { programme, sunset: { enabled: false, sunset: 0 } } });
    renderPage(<OverviewPage />, { fetch: sunsetOff.fetch, path: '/' });
    await screen.findByTestId('programme-lift');
    expect(screen.queryByTestId('sunset')).toBeNull();
    cleanup();

    // An older console server without the route answers 404: the overview shows everything else.
    const older = overviewApi(undefined);
    renderPage(<OverviewPage />, { fetch: older.fetch, path: '/' });
    await screen.findByTestId('stage-count-awareness');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(older.calls.map((c) => c.path)).toContain('/api/measurement');
    expect(screen.queryByTestId('programme-lift')).toBeNull();
    expect(screen.queryByTestId('sunset')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
