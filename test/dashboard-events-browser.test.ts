// The event page in a real browser (playwright-core driving Debian's chromium): an operator goes
// from Bull Board's links menu to /admin/events, looks a failed event up, sees its attempts, fixes the receiver, clicks Recover and
// sees the delivery turn delivered; the receiver gets it re-signed with the original event id.
// A delivery its endpoint holds back (an open circuit) shows "delayed" with the reason.
// Text from receivers is shown as text, never run as HTML. Skipped without chromium, failing
// instead when WSS_BROWSER_TEST=required (as dashboard-browser.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENTS_PATH } from '../src/dashboard/events-page.js';
import { basic, orderEndpoint } from './helpers/dashboard-context.js';
import { SHOTS, chromiumMissing, openssl, until, useBrowserStack } from './helpers/browser.js';

const PASSWORD = 'events-page-test-password';
const SECRET = 'events-page-endpoint-secret-42';
// A receiver's answer that would run script if the page rendered it as HTML.
const HOSTILE = `<img src=x onerror="document.title='pwned'"><b>down</b>`;

const missing = chromiumMissing('dashboard-events-browser.test.ts');

describe.skipIf(missing !== undefined)('the event page in a browser', () => {
  const stack = useBrowserStack();

  it('look up a failed event, see its attempts, fix the receiver, Recover, see it delivered; a delivery held back says why', async () => {
    const { t, receiver, queue, dash } = await stack.start({
      password: PASSWORD,
      secret: SECRET,
      failingBody: HOSTILE,
    });

    // Same auth as the rest of the dashboard; a strict CSP: scripts and styles of this origin only.
    expect((await fetch(`${dash.url}${EVENTS_PATH}`)).status).toBe(401);
    const pageRes = await fetch(`${dash.url}${EVENTS_PATH}`, { headers: { authorization: basic('admin', PASSWORD) } });
    expect(pageRes.status).toBe(200);
    const csp = pageRes.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await pageRes.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script

    const pub = await fetch(`${dash.url}/api/events`, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', type: 'order.shipped', data: { orderId: 'o-7' }, id: 'evt_page_1' }),
    });
    expect(pub.status).toBe(202);
    await until('the job to fail after 2 attempts', async () =>
      (await (await queue.getJob('acme.orders.evt_page_1'))?.getState()) === 'failed' ? true : undefined,
    );
    expect(receiver.requests).toHaveLength(2);

    const context = await stack.launch({
      password: PASSWORD,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
      viewport: { width: 1200, height: 900 },
    });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });

    // From Bull Board: its header's links menu (the last header button) leads to the page.
    await page.route(/fonts\.googleapis\.com|fonts\.gstatic\.com/, (route) => route.abort());
    await page.goto(`${dash.url}/admin/queues`);
    await page.locator('header ul > li:last-child button').click();
    await page.getByText('Event lookup').click();
    await page.waitForURL(`${dash.url}${EVENTS_PATH}`);
    await page.getByLabel('Event id').fill('evt_page_1');
    await page.getByRole('button', { name: 'Look up' }).click();
    const orders = page.locator('[data-endpoint="orders"]');
    await orders.locator('.state', { hasText: 'failed' }).waitFor({ timeout: 10_000 });
    await expect(orders.locator('.count').textContent()).resolves.toBe('2 attempts');
    const rows = orders.locator('tr.attempt');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(1).locator('.status').textContent()).toBe('HTTP 500');
    // The receiver's hostile answer is shown as the text it is.
    expect(await rows.first().locator('pre').textContent()).toBe(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
    await page.screenshot({ path: join(SHOTS, 'wss-events-failed.png'), fullPage: true });

    receiver.setHandler(() => ({ status: 200, body: 'ok' }));
    await orders.getByRole('button', { name: 'Recover' }).click();
    await orders.locator('.state', { hasText: 'delivered' }).waitFor({ timeout: 15_000 });
    await page.locator('#message', { hasText: 'Recovered 1 delivery' }).waitFor({ timeout: 5_000 });
    expect(await orders.locator('tr.attempt').count()).toBe(3);
    expect(await orders.locator('tr.attempt').nth(2).locator('.status').textContent()).toBe('HTTP 200');
    await page.screenshot({ path: join(SHOTS, 'wss-events-delivered.png'), fullPage: true });
    expect(await page.content()).not.toContain(SECRET);
    expect(cspErrors).toEqual([]);

    const [, , third] = await receiver.waitFor(3);
    expect(third!.headers['x-wss-event-id']).toBe('evt_page_1');
    const ts = String(third!.headers['x-wss-timestamp']);
    expect(third!.headers['x-wss-signature']).toBe(openssl(SECRET, ts + third!.body));
    expect(third!.body).toBe(receiver.requests[0]!.body);
    expect(receiver.requests).toHaveLength(3);

    // A delivery held back says why: here its endpoint's circuit is open (issue 18).
    receiver.setHandler((req) => ({ status: req.path.includes('tripped') ? 500 : 200, body: 'x' }));
    await t.ctx.registry.putEndpoint('acme', {
      ...orderEndpoint('tripped', `${receiver.url}/hooks/tripped`, SECRET),
      retry: { attempts: 3, backoffMs: 600_000 },
      circuit: { failures: 1, coolDownMs: 600_000 },
    });
    const post = (id: string) =>
      fetch(`${dash.url}/api/events`, {
        method: 'POST',
        headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'acme', type: 'order.shipped', data: {}, id }),
      });
    expect((await post('evt_page_2')).status).toBe(202);
    await until('the tripped attempt', async () =>
      receiver.requests.some((r) => r.path === '/hooks/tripped') ? true : undefined,
    );
    expect((await post('evt_page_3')).status).toBe(202);
    await page.getByLabel('Event id').fill('evt_page_3');
    const tripped = page.locator('[data-endpoint="tripped"]');
    await until('evt_page_3 parked by the open circuit', async () => {
      await page.getByRole('button', { name: 'Look up' }).click();
      return (await tripped.locator('.delay-reason').count()) > 0 ? true : undefined;
    });
    expect(await tripped.locator('.state').textContent()).toBe('delayed');
    expect(await tripped.locator('.delay-reason').textContent()).toBe(
      'delayed: circuit open (cool-down after failed attempts)',
    );
  });
});
