// An operator in a real browser (playwright-core driving Debian's chromium): logs in, finds the
// failed delivery of a 500-ing receiver, and after the receiver is fixed clicks Retry; the job
// completes and the receiver gets the delivery with a valid, fresh signature.
//
// Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it). Without it the
// test is skipped with the reason printed, and fails instead when WSS_BROWSER_TEST=required.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { type DeliveryQueue } from '../src/job.js';
import { QUEUE_NAME, createDeliveryQueue } from './helpers/legacy-queue.js';
import { startBridge } from '../src/producers/bridge.js';
import type { RunningRole } from '../src/roles.js';
import { startWorker } from '../src/workers/worker.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const CHROMIUM = process.env.WSS_CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'browser-test-password';
const SECRET = 'browser-test-endpoint-secret-42';
const SHOTS = process.env.WSS_SCREENSHOT_DIR ?? tmpdir();

const missing = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} not found (install it with: apt-get install -y chromium)`;
if (missing) {
  console.warn(`\n*** dashboard-browser.test.ts SKIPPED: ${missing} ***\n`);
  if (process.env.WSS_BROWSER_TEST === 'required') throw new Error(`WSS_BROWSER_TEST=required but ${missing}`);
}

function openssl(secret: string, message: string): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-hex', '-r'], { input: message })
    .toString()
    .split(' ')[0]!;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(missing !== undefined)('dashboard in a browser', () => {
  const { redis } = useTestRedis();
  let t: TestContext | undefined;
  let receiver: Receiver | undefined;
  let queue: DeliveryQueue | undefined;
  const roles: RunningRole[] = [];
  let profile: string | undefined;
  let closeBrowser: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await closeBrowser?.();
    for (const r of roles.reverse()) await r.stop();
    await queue?.close();
    await receiver?.close();
    await t?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('log in, see the failed job, fix the receiver, click Retry, delivery completes', async () => {
    const { chromium } = await import('playwright-core');
    receiver = await startReceiver(() => ({ status: 500, body: 'receiver is down' }));
    t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_BLOCK_MS: '100' }, redis());
    await t.ctx.registry.putEndpoint('acme', {
      id: 'orders',
      url: `${receiver.url}/hooks/orders`,
      secret: SECRET,
      events: ['order.*'],
      headers: {},
      timeoutMs: 2_000,
      retry: { attempts: 2, backoffMs: 50 },
      enabled: true,
    });
    roles.push(await startWorker(t.ctx));
    roles.push(await startBridge(t.ctx));
    const dash: RunningDashboard = await startDashboard(t.ctx, { roles: () => roles });
    roles.push(dash);
    queue = createDeliveryQueue(t.ctx.redis, t.ctx.config.prefix);
    queue.on('error', () => {});

    // The event enters like any other: admin API → stream → bridge → job → worker.
    const pub = await fetch(`${dash.url}/api/events`, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', type: 'order.shipped', data: { orderId: 'o-42' }, id: 'evt_browser_1' }),
    });
    expect(pub.status).toBe(202);
    const jobId = 'acme.orders.evt_browser_1';
    await until('the job to fail after 2 attempts', async () =>
      (await (await queue!.getJob(jobId))?.getState()) === 'failed' ? true : undefined,
    );
    expect(receiver.requests).toHaveLength(2);

    profile = mkdtempSync(join(tmpdir(), 'wss-chromium-'));
    // A persistent context is playwright's way to give chromium a fresh --user-data-dir.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1400, height: 1000 },
    });
    closeBrowser = () => context.close();
    const page = await context.newPage();
    // No network here: the page's web-font request would only wait for a timeout.
    await page.route(/fonts\.googleapis\.com|fonts\.gstatic\.com/, (route) => route.abort());

    await page.goto(`${dash.url}/admin/queues/queue/${QUEUE_NAME}?status=failed`);
    const title = 'acme/orders · order.shipped · evt_browser_1';
    await page.getByText(title).first().waitFor({ timeout: 15_000 });
    await page
      .getByText(/HTTP 500|500/)
      .first()
      .waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(SHOTS, 'wss-dashboard-failed.png'), fullPage: true });
    // The worker's per-attempt lines (job.log) are on the Logs tab.
    await page.getByRole('tab', { name: 'Logs' }).first().click();
    await page
      .getByText(/attempt 2\b.*500/)
      .first()
      .waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(SHOTS, 'wss-dashboard-logs.png'), fullPage: true });
    expect(await page.content()).not.toContain(SECRET);

    receiver.setHandler(() => ({ status: 200, body: 'ok' }));
    // The job card's actions are icon buttons named only by their tooltip: find the one whose
    // tooltip reads "Retry", click it, and confirm the dialog that names the action.
    const iconButtons = page.locator('[data-base-ui-tooltip-trigger] > button');
    let clicked = false;
    for (let i = 0; i < (await iconButtons.count()) && !clicked; i++) {
      await iconButtons.nth(i).hover();
      const tip = page.getByText('Retry', { exact: true });
      const shown = await tip
        .first()
        .waitFor({ state: 'visible', timeout: 1_000 })
        .then(
          () => true,
          () => false,
        );
      if (shown) {
        await iconButtons.nth(i).click();
        clicked = true;
      }
    }
    expect(clicked, 'a job-card button with the tooltip "Retry"').toBe(true);
    const dialog = page.getByRole('alertdialog');
    await dialog.getByText('Are you sure that you want to retry this job?').waitFor({ timeout: 5_000 });
    await dialog.getByRole('button', { name: 'Confirm' }).click();

    const [, , third] = await receiver.waitFor(3);
    expect(third!.headers['x-wss-event-id']).toBe('evt_browser_1');
    const ts = String(third!.headers['x-wss-timestamp']);
    expect(third!.headers['x-wss-signature']).toBe(openssl(SECRET, ts + third!.body));
    expect(third!.body).toBe(receiver.requests[0]!.body);
    await until('the job to complete', async () =>
      (await (await queue!.getJob(jobId))?.getState()) === 'completed' ? true : undefined,
    );

    await page.goto(`${dash.url}/admin/queues/queue/${QUEUE_NAME}?status=completed`);
    await page.getByText(title).first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'wss-dashboard-completed.png'), fullPage: true });
  });
});
