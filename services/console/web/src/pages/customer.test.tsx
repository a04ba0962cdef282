// @vitest-environment jsdom
import { cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { mockApi, renderPage } from '../test-support.tsx';
import { CustomerPage } from './customer.tsx';

afterEach(cleanup);

/** GET /api/customers/:id as the console's server answers it: the timeline merged and sorted there. */
const customer = {
  customerId: 'cus_42',
  profile: { customerId: 'cus_42', stage: 'retention', locale: 'ja-JP', timeZone: 'Asia/Tokyo', consent: { state: 'opted_in', marketingAllowed: true, changedAt: '2026-01-02T00:00:00.000Z' } },
  rfm: { recency: 5, frequency: 4, monetary: 4, segment: 'champions' },
  stageHistory: [],
  contact: { customerId: 'cus_42', locale: 'ja-JP', timeZone: 'Asia/Tokyo', stage: 'retention' },
  jobs: [{ dedupeKey: 'k1', campaignId: 'thank-you', status: 'sent' }],
  messages: [],
  consent: { state: 'opted_in' },
  timeline: [
    { at: '2026-01-02T10:00:00.000Z', kind: 'event', title: 'order_completed', detail: 'event e1' },
    { at: '2026-01-02T10:00:00.000Z', kind: 'stage', title: 'consideration → conversion', detail: 'first order' },
    { at: '2026-01-02T11:00:00.000Z', kind: 'job', title: 'thank-you: sent', detail: '' },
    { at: '2026-01-02T11:00:05.000Z', kind: 'message', title: 'thank-you: delivered', detail: 'opened' },
  ],
};

function api() {
  return mockApi((call) => {
    if (call.path === '/api/customers/cus_42') return { body: customer };
    if (call.path === '/api/campaigns') return { body: { campaigns: [{ id: 'thank-you', sent: 1, conversions: 0 }, { id: 'win-back', sent: 0, conversions: 0 }] } };
    if (call.path === '/api/customers/cus_42/why?campaign=win-back') return { body: { campaignId: 'win-back', answer: 'Not yet: the customer ordered 3 days ago; win-back waits for 60 days without an order.', facts: ['last order 2026-01-02'] } };
    return undefined;
  });
}

describe('Customer page', () => {
  it('shows the profile and the merged timeline in the server’s order with each entry’s kind', async () => {
    const mock = api();
    renderPage(<CustomerPage />, { fetch: mock.fetch, path: '/customers/cus_42', route: '/customers/:id' });
    expect((await screen.findByTestId('customer-stage')).textContent).toBe('retention');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Customer cus_42');
    expect(screen.getByText('champions')).toBeTruthy();
    expect(screen.getByText('opted_in')).toBeTruthy();
    expect(screen.getByText('Asia/Tokyo')).toBeTruthy();

    const items = within(screen.getByTestId('timeline')).getAllByRole('listitem');
    expect(items.map((li) => li.getAttribute('data-kind'))).toEqual(['event', 'stage', 'job', 'message']);
    expect(items.map((li) => li.querySelector('.timeline-title')?.textContent)).toEqual(['order_completed', 'consideration → conversion', 'thank-you: sent', 'thank-you: delivered']);
    expect(items[0]?.querySelector('time')?.getAttribute('datetime')).toBe('2026-01-02T10:00:00.000Z');
  });

  it('answers why the customer did not get a campaign', async () => {
    const mock = api();
    renderPage(<CustomerPage />, { fetch: mock.fetch, path: '/customers/cus_42', route: '/customers/:id' });
    const select = await screen.findByLabelText('Campaign');
    await screen.findByRole('option', { name: 'win-back' });
    fireEvent.change(select, { target: { value: 'win-back' } });
    fireEvent.click(screen.getByRole('button', { name: 'Why?' }));
    expect((await screen.findByTestId('why-answer')).textContent).toBe('Not yet: the customer ordered 3 days ago; win-back waits for 60 days without an order.');
    expect(screen.getByText('last order 2026-01-02')).toBeTruthy();
  });

  it('says so when no service knows the customer', async () => {
    const mock = mockApi(() => ({ status: 404, body: { error: 'no service knows a customer with id nobody' } }));
    renderPage(<CustomerPage />, { fetch: mock.fetch, path: '/customers/nobody', route: '/customers/:id' });
    expect((await screen.findByRole('alert')).textContent).toMatch(/No service knows a customer with the id “nobody”/);
  });

  it('says what fills an empty timeline', async () => {
    const mock = mockApi((call) => (call.path === '/api/customers/cus_42' ? { body: { ...customer, timeline: [] } } : { body: { campaigns: [] } }));
    renderPage(<CustomerPage />, { fetch: mock.fetch, path: '/customers/cus_42', route: '/customers/:id' });
    expect(await screen.findByText(/Nothing yet: events, stage moves/)).toBeTruthy();
    expect(screen.queryByTestId('timeline')).toBeNull();
  });
});
