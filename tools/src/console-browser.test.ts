import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { chromiumPath } from './browser.ts';
import { runDemoCommand } from './demo/demo-stack.ts';
import { dayDate } from './demo/store-simulation.ts';
import { repoRoot } from './kafka-broker.ts';
import { freePort } from './service-process.ts';
import { readStackConfig, type ServiceName } from './stack-config.ts';
import { eventually, testDemoStore } from './test-kit.ts';

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against the real
 * stack, filled by the demo with a fixed seed: log in, each page shows what the services' APIs
 * say, a customer's timeline tells the story the demo played, a dead letter is re-published.
 * Screenshots of each page go to CONSOLE_SCREENSHOTS_DIR (`pnpm console:screenshots` points it
 * at docs/console, which the README shows), else to a temporary folder.
 */

const brokers = inject('kafkaBrokers');
const store = testDemoStore('console-browser');
const databaseUrl = store.databaseUrl;
const screenshots = process.env.CONSOLE_SCREENSHOTS_DIR === undefined ? join(dirname(store.outboxDir), 'screenshots') : resolve(repoRoot, process.env.CONSOLE_SCREENSHOTS_DIR);
const password = 'console-test-password';
const token = 'console-browser-test-service-token';
const auth = { authorization: `Bearer ${token}` };

afterAll(() => rmSync(dirname(store.outboxDir), { recursive: true, force: true }));

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: auth });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The whole page, taken with the viewport stretched to it: Chromium's full-page capture leaves a
 * sandboxed frame (the template preview, an out-of-process frame) blank.
 */
const shot = async (page: Page, name: string): Promise<void> => {
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  const height = await page.locator('html').evaluate((html) => html.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, height) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(screenshots, `${name}.png`) });
  await page.setViewportSize(viewport);
};

/**
 * How long a page may take to show something: a cold Chromium on a busy two-core runner took more
 * than expect.poll's default second to render the first page (CI, 2026-12-08).
 */
const ui = { timeout: 20_000 };

/** Waits until no request of the app is in flight and no "Loading…" shows. */
async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'Loading…' }).count(), ui).toBe(0);
}

async function playBrowser(ports: Record<ServiceName | 'console', number>): Promise<void> {
  const base = `http://127.0.0.1:${ports.console}`;
  const service = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  mkdirSync(screenshots, { recursive: true });
  // The operator's browser keeps its own clock: under `--clock-ahead` (libfaketime preloaded into
  // the test processes) Chromium renders nothing, and the stack's moved clock is what is tested.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'LD_PRELOAD' && !name.startsWith('FAKETIME')));
  const browser: Browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, env });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('dialog', (dialog) => void dialog.accept());

    // Personal data only behind the login: the app sends a stranger to the login page, the API answers 401.
    expect((await fetch(`${base}/api/customers/lookup?q=x`)).status).toBe(401);
    await page.goto(`${base}/customers`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), ui).toBe('Login');
    await shot(page, 'login');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').count(), ui).toBeGreaterThan(0);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back to the page it came from.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), ui).toBe('Customers');
    const cookie = (await context.cookies()).find((c) => c.name === 'lc_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // Overview: the stage counts are the classifier's.
    await page.getByRole('link', { name: 'Overview' }).click();
    await settled(page);
    const { stages } = (await getJson(`${service('classifier')}/stages`)) as { stages: Record<string, number> };
    expect(Object.values(stages).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const [stage, count] of Object.entries(stages)) {
      expect(await page.getByTestId(`stage-count-${stage}`).textContent(), stage).toBe(String(count));
    }
    // The headline figures are this month's so far, by the services' clock: the classifier's.
    const { now: overviewNow } = (await getJson(`${service('scheduler')}/admin/clock`)) as { now: string };
    // The month the clock is in, or the one before when it stands exactly at a month's start.
    const clockAt = new Date(overviewNow);
    const monthStart = new Date(Date.UTC(clockAt.getUTCFullYear(), clockAt.getUTCMonth() - (clockAt.getTime() === Date.UTC(clockAt.getUTCFullYear(), clockAt.getUTCMonth(), 1) ? 1 : 0), 1)).toISOString();
    const month = (await getJson(`${service('classifier')}/metrics/retention?from=${monthStart}&to=${overviewNow}`)) as { repeatPurchaseRate: number | null; customerRetentionRate: number | null };
    expect(await page.getByTestId('metric-repeat').getAttribute('data-value')).toBe(month.repeatPurchaseRate === null ? '' : String(month.repeatPurchaseRate));
    expect(await page.getByTestId('metric-retention').getAttribute('data-value')).toBe(month.customerRetentionRate === null ? '' : String(month.customerRetentionRate));
    await shot(page, 'overview');

    // Campaigns: each one's sends and conversions are the scheduler's.
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await settled(page);
    const { campaigns } = (await getJson(`${service('scheduler')}/campaigns`)) as { campaigns: { id: string; sent: number; conversions: number }[] };
    expect(campaigns.find((c) => c.id === 'post-purchase-thank-you')?.sent).toBeGreaterThan(0);
    const shown = async (testId: string) => Number((await page.getByTestId(testId).textContent())?.replace(/\D/g, ''));
    for (const c of campaigns) {
      expect(await shown(`campaign-${c.id}-sent`), c.id).toBe(c.sent);
      expect(await shown(`campaign-${c.id}-conversions`), c.id).toBe(c.conversions);
    }
    await shot(page, 'campaigns');
    // "Which campaign earned the most last month?": the scheduler's figures for the previous calendar month by its clock.
    const { now } = (await getJson(`${service('scheduler')}/admin/clock`)) as { now: string };
    const clock = new Date(now);
    const from = new Date(Date.UTC(clock.getUTCFullYear(), clock.getUTCMonth() - 1, 1)).toISOString();
    const to = new Date(Date.UTC(clock.getUTCFullYear(), clock.getUTCMonth(), 1)).toISOString();
    const lastMonth = (await getJson(`${service('scheduler')}/campaigns?from=${from}&to=${to}`)) as { campaigns: { id: string; sent: number; revenue: Record<string, number> }[] };
    await page.getByLabel('Period').selectOption('last-month');
    await expect.poll(() => page.getByTestId('campaigns-window').count(), ui).toBe(1);
    await settled(page);
    for (const c of lastMonth.campaigns) expect(await shown(`campaign-${c.id}-sent`), `${c.id} last month`).toBe(c.sent);
    const best = new Map<string, { id: string; amount: number }>();
    for (const c of lastMonth.campaigns) for (const [currency, amount] of Object.entries(c.revenue)) if (amount > (best.get(currency)?.amount ?? 0)) best.set(currency, { id: c.id, amount });
    if (best.size > 0) {
      const text = (await page.getByTestId('top-earners').textContent()) ?? '';
      for (const { id } of best.values()) expect(text).toContain(id);
    }
    await page.getByLabel('Period').selectOption('all');
    await settled(page);
    await page.getByRole('link', { name: 'post-purchase-thank-you', exact: true }).first().click();
    await settled(page);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('post-purchase-thank-you');
    expect(await page.locator('pre').first().textContent()).toContain('id: post-purchase-thank-you');
    // The template, rendered with its sample data, in a frame that runs no script.
    await expect.poll(() => page.frameLocator('iframe.preview').locator('body').textContent(), ui).toContain('Thank you for your order');
    await shot(page, 'campaign');
    // The template's own locales (messaging's): Japanese renders in Japanese.
    await page.getByLabel('Locale').selectOption('ja');
    await expect.poll(() => page.frameLocator('iframe.preview').locator('body').textContent(), ui).toContain('ご注文ありがとうございます');

    // A customer the demo had order and thank: the timeline holds the order, the stage change and the mail.
    const [buyer] = await query<{ customer_id: string }>(
      "SELECT customer_id FROM scheduler.jobs WHERE campaign_id = 'post-purchase-thank-you' AND status = 'sent' ORDER BY customer_id LIMIT 1",
    );
    if (buyer === undefined) throw new Error('the demo thanked nobody for an order');
    const profile = (await getJson(`${service('classifier')}/customers/${encodeURIComponent(buyer.customer_id)}`)) as { profile: { stage: string } };
    await page.getByRole('link', { name: 'Customers' }).click();
    // By name: the demo's names repeat, so the buyer is the answer or one of those listed.
    const contact = (await getJson(`${service('scheduler')}/contacts/${encodeURIComponent(buyer.customer_id)}`)) as { firstName: string };
    await page.getByLabel('Customer id, email or name').fill(contact.firstName);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect
      .poll(async () => (await page.getByRole('heading', { level: 1 }).textContent()) === `Customer ${buyer.customer_id}` || (await page.getByTestId('customer-matches').getByRole('link', { name: buyer.customer_id, exact: true }).count()) === 1)
      .toBe(true);
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.getByLabel('Customer id, email or name').fill(buyer.customer_id);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), ui).toBe(`Customer ${buyer.customer_id}`);
    await settled(page);
    expect(await page.getByTestId('customer-stage').textContent()).toContain(profile.profile.stage);
    const timeline = page.getByTestId('timeline');
    expect(await timeline.locator('li[data-kind="event"]', { hasText: 'Order Completed' }).count()).toBeGreaterThan(0);
    expect(await timeline.locator('li[data-kind="stage"]').count()).toBeGreaterThan(0);
    expect(await timeline.locator('li[data-kind="message"]', { hasText: 'post-purchase-thank-you' }).count()).toBeGreaterThan(0);
    await page.getByLabel('Campaign').selectOption('post-purchase-thank-you');
    await page.getByRole('button', { name: 'Why?' }).click();
    await expect.poll(() => page.getByTestId('why-answer').textContent(), ui).toMatch(/^Sent/);
    await shot(page, 'customer');

    // Dead letters: a record ingestion cannot read lands on its dead-letter topic; re-publishing it is audited.
    const kafka = new Kafka({ clientId: 'console-browser-test', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${store.topicPrefix}commerce.events`, messages: [{ key: 'broken-1', value: 'this is not a Segment call' }] });
    await producer.disconnect();
    const dlq = `${store.topicPrefix}commerce.events.dlq`;
    await eventually(async () => {
      const body = (await getJson(`${service('ingestion')}/dead-letters`)) as { topics: { topic: string; total: number }[] };
      expect(body.topics.find((t) => t.topic === dlq)?.total).toBe(1);
    }, 30_000, 500);
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await settled(page);
    const row = page.getByTestId(`dlq-row-ingestion-${dlq}`);
    expect(await row.getAttribute('data-total')).toBe('1');
    await row.getByRole('button', { name: 'Show records' }).first().click();
    await settled(page);
    const record = page.locator('[data-testid^="dlq-record-"]').first();
    expect(await record.textContent()).toContain('this is not a Segment call');
    await record.getByRole('button', { name: 'Re-publish' }).click();
    await expect.poll(() => page.getByTestId('audit-log').locator('li').count(), ui).toBe(1);
    expect(await page.getByTestId('audit-log').textContent()).toContain('ok');
    const [audit] = await query<{ result: string }>('SELECT result FROM console.audit_log');
    expect(audit?.result).toBe('ok');
    // Re-published to commerce.events, the same bytes fail the same way: a second dead letter.
    await eventually(async () => {
      const body = (await getJson(`${service('ingestion')}/dead-letters`)) as { topics: { topic: string; total: number }[] };
      expect(body.topics.find((t) => t.topic === dlq)?.total).toBe(2);
    }, 30_000, 500);
    await shot(page, 'dead-letters');

    // System: every service ready, with its consumer lag.
    await page.getByRole('link', { name: 'System' }).click();
    await settled(page);
    for (const name of ['ingestion', 'classifier', 'scheduler', 'messaging'] as const) {
      expect(await page.getByTestId(`service-${name}`).getAttribute('data-ready'), name).toBe('true');
    }
    expect(await page.getByTestId('broker').getAttribute('data-ok')).toBe('true');
    expect(await page.getByTestId('database').getAttribute('data-ok')).toBe('true');
    await shot(page, 'system');

    // A tablet.
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.getByRole('link', { name: 'Overview' }).click();
    await settled(page);
    await shot(page, 'overview-tablet');
    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}

describe('the console in a browser, on the demo store', () => {
  it('logs in, shows the services’ figures on every page, tells a customer’s story and re-publishes a dead letter', async () => {
    const ports = { ingestion: await freePort(), classifier: await freePort(), scheduler: await freePort(), messaging: await freePort(), console: await freePort() };
    const env = { ...process.env, KAFKA_BROKERS: brokers.join(','), DATABASE_URL: databaseUrl, CONSOLE_PASSWORD: password, SERVICE_TOKEN: token };
    const stop = new AbortController();
    let played: Promise<unknown> | undefined;
    const said: string[] = [];
    const code = await runDemoCommand({
      customers: 40,
      days: 45,
      seed: 7,
      start: dayDate(new Date().toISOString().slice(0, 10), 1),
      stepHours: 24,
      writeKey: 'dev-write-key',
      env,
      config: readStackConfig(env),
      ports: { ingestion: ports.ingestion, classifier: ports.classifier, scheduler: ports.scheduler, messaging: ports.messaging },
      consolePort: ports.console,
      store,
      color: false,
      stopSignal: stop.signal,
      progress: () => {},
      say: (line) => {
        said.push(line);
        if (line.startsWith('Ctrl-C stops the stack')) played = playBrowser(ports).then(
          () => null,
          (err: unknown) => err,
        ).finally(() => stop.abort());
      },
    });
    expect(played, `the demo did not finish its year; it said:\n${said.join('\n')}`).toBeDefined();
    const failed = await played;
    if (failed !== null) throw failed;
    expect(code).toBe(0);
  }, 600_000);
});
