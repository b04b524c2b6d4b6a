// What the dashboard's browser tests share: finding Debian's chromium (skip without it, fail
// instead when WSS_BROWSER_TEST=required), the service stack the browser talks to (a receiver
// that fails at first, a worker, a bridge and a dashboard on the file's private Redis) and a
// fresh chromium profile, all closed after the file.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll } from 'vitest';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import type { DeliveryQueue } from '../../src/queue/job.js';
import { startBridge } from '../../src/producers/bridge.js';
import type { RunningRole } from '../../src/roles.js';
import { startWorker } from '../../src/workers/worker.js';
import { orderEndpoint, startTestContext, type TestContext } from './dashboard-context.js';
import { createDeliveryQueue } from './legacy-queue.js';
import { startReceiver, type Receiver } from './receiver.js';
import { useTestRedis } from './redis-server.js';

export const CHROMIUM = process.env.WSS_CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = process.env.WSS_SCREENSHOT_DIR ?? tmpdir();

/** Why `testFile` cannot run (chromium is missing), or undefined; throws when it is required. */
export function chromiumMissing(testFile: string): string | undefined {
  const missing = existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} not found (install it with: apt-get install -y chromium)`;
  if (missing) {
    console.warn(`\n*** ${testFile} SKIPPED: ${missing} ***\n`);
    if (process.env.WSS_BROWSER_TEST === 'required') throw new Error(`WSS_BROWSER_TEST=required but ${missing}`);
  }
  return missing;
}

export function openssl(secret: string, message: string): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-hex', '-r'], { input: message })
    .toString()
    .split(' ')[0]!;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface BrowserStack {
  t: TestContext;
  receiver: Receiver;
  queue: DeliveryQueue;
  dash: RunningDashboard;
}

export interface StackOptions {
  password: string;
  /** The endpoint acme/orders's secret. */
  secret: string;
  /** What the receiver answers (with HTTP 500) until the test fixes it. */
  failingBody: string;
}

export interface BrowserOptions {
  password: string;
  args: string[];
  viewport: { width: number; height: number };
}

/**
 * The file's private Redis plus `start` (the service stack) and `launch` (chromium); whatever
 * was started is closed after the file, the browser first. Call inside the describe block.
 */
export function useBrowserStack(): {
  start: (o: StackOptions) => Promise<BrowserStack>;
  launch: (o: BrowserOptions) => Promise<BrowserContext>;
} {
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

  return {
    async start({ password, secret, failingBody }) {
      receiver = await startReceiver(() => ({ status: 500, body: failingBody }));
      t = await startTestContext({ WSS_DASHBOARD_PASSWORD: password, WSS_BLOCK_MS: '100' }, redis());
      await t.ctx.registry.putEndpoint('acme', orderEndpoint('orders', `${receiver.url}/hooks/orders`, secret));
      roles.push(await startWorker(t.ctx));
      roles.push(await startBridge(t.ctx));
      const dash: RunningDashboard = await startDashboard(t.ctx, { roles: () => roles });
      roles.push(dash);
      queue = createDeliveryQueue(t.ctx.redis, t.ctx.config.prefix);
      queue.on('error', () => {});
      return { t, receiver, queue, dash };
    },
    async launch({ password, args, viewport }) {
      const { chromium } = await import('playwright-core');
      profile = mkdtempSync(join(tmpdir(), 'wss-chromium-'));
      // A persistent context is playwright's way to give chromium a fresh --user-data-dir.
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args,
        httpCredentials: { username: 'admin', password },
        viewport,
      });
      closeBrowser = () => context.close();
      return context;
    },
  };
}
