// An operator in a real browser (playwright-core driving Debian's chromium): logs in, finds the
// failed delivery of a 500-ing receiver, and after the receiver is fixed clicks Retry; the job
// completes and the receiver gets the delivery with a valid, fresh signature.
//
// Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it). Without it the
// test is skipped with the reason printed, and fails instead when WSS_BROWSER_TEST=required.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { basic } from './helpers/dashboard-context.js';
import { QUEUE_NAME } from './helpers/legacy-queue.js';
import { SHOTS, chromiumMissing, openssl, until, useBrowserStack } from './helpers/browser.js';

const PASSWORD = 'browser-test-password';
const SECRET = 'browser-test-endpoint-secret-42';

const missing = chromiumMissing('dashboard-browser.test.ts');

describe.skipIf(missing !== undefined)('dashboard in a browser', () => {
  const stack = useBrowserStack();

  it('log in, see the failed job, fix the receiver, click Retry, delivery completes', async () => {
    const { receiver, queue, dash } = await stack.start({
      password: PASSWORD,
      secret: SECRET,
      failingBody: 'receiver is down',
    });

    // The event enters like any other: admin API → stream → bridge → job → worker.
    const pub = await fetch(`${dash.url}/api/events`, {
      method: 'POST',
      headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', type: 'order.shipped', data: { orderId: 'o-42' }, id: 'evt_browser_1' }),
    });
    expect(pub.status).toBe(202);
    const jobId = 'acme.orders.evt_browser_1';
    await until('the job to fail after 2 attempts', async () =>
      (await (await queue.getJob(jobId))?.getState()) === 'failed' ? true : undefined,
    );
    expect(receiver.requests).toHaveLength(2);

    const context = await stack.launch({
      password: PASSWORD,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
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
      (await (await queue.getJob(jobId))?.getState()) === 'completed' ? true : undefined,
    );

    await page.goto(`${dash.url}/admin/queues/queue/${QUEUE_NAME}?status=completed`);
    await page.getByText(title).first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'wss-dashboard-completed.png'), fullPage: true });
  });
});
