// The tenant portal in a real browser (playwright-core driving Debian's chromium). A host
// product on another site (http://localhost:<port>, while the portal is at 127.0.0.1) sends its
// customer through the embedding sequence: its backend asks the admin API for a portal link
// and redirects. In the portal the customer, by keyboard where a form allows, adds an endpoint
// to a real receiver, sends a test event and sees it delivered, sees the failed attempts (with
// the receiver's hostile answers as text) once the receiver fails, recovers, sees it delivered.
// A page of the other site then tries a form post and a fetch into the portal: both refused.
// At a phone's width no page scrolls sideways; every control has a label. Skipped without
// chromium, failing instead when WSS_BROWSER_TEST=required.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { basic } from './helpers/dashboard-context.js';
import { CHROMIUM, SHOTS, chromiumMissing } from './helpers/browser.js';
import { useTestRedis } from './helpers/redis-server.js';
import { PASSWORD, useTenantStack, type TenantStack } from './helpers/tenant-stack.js';

const HOSTILE = `<img src=x onerror="document.title='pwned'"><b>receiver down</b>`;
const missing = chromiumMissing('portal-browser.test.ts');

/** The host product: /webhooks asks for a link and redirects; /evil tries to post into the portal. */
async function hostProduct(s: TenantStack): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/webhooks') {
      void fetch(`${s.url}/api/tenants/acme/portal-links`, {
        method: 'POST',
        headers: { authorization: basic('admin', PASSWORD) },
      })
        .then((r) => r.json() as Promise<{ url: string }>)
        .then(({ url }) => {
          res.writeHead(302, { location: url });
          res.end();
        });
      return;
    }
    if (req.url === '/evil') {
      const target = `${s.url}/portal/endpoints/main/disable`;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>evil</title>
<form id="f" method="post" action="${target}"><input name="x" value="1"></form>
<script>
fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', mode: 'no-cors', body: 'x=1',
  headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  .finally(() => { document.title = 'fetched'; setTimeout(() => document.getElementById('f').submit(), 50); });
</script>`);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://localhost:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// Browser-side code as text: this project's TypeScript has no DOM types.
async function noSidewaysScroll(page: Page): Promise<void> {
  const [scroll, width] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, window.innerWidth]',
  );
  expect(scroll, page.url()).toBeLessThanOrEqual(width);
}

const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter((el) => !((el.labels && el.labels.length > 0) || el.getAttribute('aria-label') ||
    (el.tagName === 'BUTTON' && el.textContent.trim() !== '')))
  .map((el) => el.outerHTML)`;

async function everyControlLabelled(page: Page): Promise<void> {
  expect(await page.evaluate<string[]>(UNLABELLED), page.url()).toEqual([]);
}

describe.skipIf(missing !== undefined)('the tenant portal in a browser', () => {
  const { redis } = useTestRedis();
  const stack = useTenantStack(redis);
  let context: BrowserContext | undefined;
  let profile: string | undefined;
  let host: { url: string; close(): Promise<void> } | undefined;
  afterAll(async () => {
    await context?.close();
    await host?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('link from the host product, add an endpoint, test, fail, recover, delivered; cross-site posts refused', async () => {
    const s = await stack.start({
      deliver: true,
      env: { WSS_PORTAL_PRODUCT_NAME: 'Acme Cloud', WSS_PORTAL_ACCENT: '#aa3300' },
    });
    await s.allow('acme', { allowPrivateUrls: true });
    host = await hostProduct(s);
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'wss-portal-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
      viewport: { width: 1200, height: 900 },
    });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });

    // The embedding sequence: a cross-site redirect to the link, then the portal.
    await page.goto(`${host.url}/webhooks`);
    await page.waitForURL(`${s.url}/portal`);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    expect(await page.title()).toBe('Endpoints · Acme Cloud');
    const border = await page.evaluate<string>(
      "getComputedStyle(document.querySelector('header.top')).borderBottomColor",
    );
    expect(border).toBe('rgb(170, 51, 0)');
    // The first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await everyControlLabelled(page);

    // Add an endpoint by keyboard: type into the labelled fields, Enter submits.
    await page.getByLabel('Endpoint id').focus();
    await page.keyboard.type('main');
    await page.keyboard.press('Tab');
    await page.keyboard.type(`${s.receiver.url}/rx`);
    await page.keyboard.press('Tab');
    await page.keyboard.type('*');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Endpoint main added' }).waitFor();
    const secret = (await page.locator('#secret').textContent())!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.screenshot({ path: join(SHOTS, 'wss-portal-secret.png'), fullPage: true });

    await page.getByRole('link', { name: 'Go to endpoint main' }).click();
    await page.getByRole('button', { name: 'Send test event' }).click();
    const delivery = page.locator('[data-endpoint="main"]');
    await delivery.locator('.state', { hasText: 'delivered' }).waitFor({ timeout: 15_000 });
    expect(await delivery.locator('.answer').first().textContent()).toBe('HTTP 200');
    const [first] = s.receiver.requests.filter((r) => r.path === '/rx');
    const ts = String(first!.headers['x-wss-timestamp']);
    expect(first!.headers['x-wss-signature']).toBe(
      createHmac('sha256', secret)
        .update(ts + first!.body)
        .digest('hex'),
    );

    // The receiver fails: twice 503, then 400 (not retried): the delivery fails after 3 attempts.
    let n = 0;
    s.receiver.setHandler((req) => {
      if (req.path !== '/rx') return { status: 200 };
      n++;
      return n <= 2 ? { status: 503, body: HOSTILE } : { status: 400, body: HOSTILE };
    });
    await page.getByRole('link', { name: 'main' }).first().click();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await delivery.locator('.state', { hasText: 'failed' }).waitFor({ timeout: 15_000 });
    const rows = delivery.locator('tr.attempt');
    expect(await rows.count()).toBe(3);
    expect(await rows.locator('.answer').allTextContents()).toEqual(['HTTP 503', 'HTTP 503', 'HTTP 400']);
    expect(await rows.first().locator('pre').textContent()).toBe(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
    await page.screenshot({ path: join(SHOTS, 'wss-portal-failed.png'), fullPage: true });

    s.receiver.setHandler(() => ({ status: 200, body: 'ok' }));
    await delivery.getByRole('button', { name: 'Recover this delivery' }).click();
    await page.getByText('Recovered 1 delivery.').waitFor();
    await delivery.locator('.state', { hasText: 'delivered' }).waitFor({ timeout: 15_000 });
    expect(await delivery.locator('tr.attempt').count()).toBe(4);
    expect(await delivery.locator('tr.attempt .answer').nth(3).textContent()).toBe('HTTP 200');
    await page.screenshot({ path: join(SHOTS, 'wss-portal-recovered.png'), fullPage: true });
    expect(await page.content()).not.toContain(secret);

    // The deliveries page lists it; the search form is labelled too.
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.getByRole('button', { name: 'Search' }).waitFor();
    await everyControlLabelled(page);

    // Another site's page posts a form and fetches into the portal: neither gets through.
    const evil = await context.newPage();
    await evil.goto(`${host.url}/evil`);
    await evil.waitForURL(`${s.url}/portal/endpoints/main/disable`);
    expect(await evil.locator('h1').textContent()).toBe('Refused');
    expect((await s.t.ctx.registry.getEndpointConfig('acme', 'main'))?.enabled).toBe(true);
    await evil.close();

    // A phone's width: nothing scrolls sideways.
    await page.setViewportSize({ width: 360, height: 740 });
    const eventUrl = page.url();
    for (const url of [
      `${s.url}/portal`,
      `${s.url}/portal/endpoints/main`,
      eventUrl,
      `${s.url}/portal/deliveries?since=1h`,
    ]) {
      await page.goto(url);
      await noSidewaysScroll(page);
    }
    await page.goto(`${s.url}/portal/endpoints/main`);
    await page.screenshot({ path: join(SHOTS, 'wss-portal-narrow.png'), fullPage: true });
    await everyControlLabelled(page);
    expect(cspErrors).toEqual([]);
  });
});
