// REDIS_URL (or REDIS_CLUSTER_NODES) where nothing listens: `wss start` waits WSS_REDIS_WAIT_MS
// and exits 1 with one line naming the variable and the address (never the password), one-off
// commands give up within a few seconds, and SIGTERM during the wait ends the process at once.
// Before, every one of them hung (issue 18, item 5). A running service that loses Redis keeps
// reconnecting: test/cli-lifecycle.test.ts ("Redis restarting").
import { expect, it } from 'vitest';
import { freePort } from './helpers/redis-server.js';
import { runWss, spawnWss, type WssProcess } from './helpers/wss-process.js';

const PASSWORD = 'pw-not-for-logs-4711';

/** The exit code, or 'still running' after `ms`. */
function exitWithin(svc: WssProcess, ms: number): Promise<number | null | 'still running'> {
  return new Promise((res) => {
    if (svc.proc.exitCode !== null) return res(svc.proc.exitCode);
    const t = setTimeout(() => res('still running'), ms);
    svc.proc.once('exit', (c) => {
      clearTimeout(t);
      res(c);
    });
  });
}

/** A URL at a port nothing listens on (taken free a moment ago), with a password in it. */
async function closedUrl(): Promise<{ url: string; port: number }> {
  const port = await freePort();
  return { url: `redis://:${PASSWORD}@127.0.0.1:${port}`, port };
}

it.each([
  ['publish', ['publish', '--tenant', 'acme', '--type', 'order.created', '--data', '{}']],
  ['status', ['status', 'evt-1']],
  ['seed', ['seed', 'examples/tenants.json']],
])(
  'wss %s with REDIS_URL at a closed port exits 1 with one line naming REDIS_URL and the address',
  async (_n, args) => {
    const { url, port } = await closedUrl();
    const r = runWss(args, { REDIS_URL: url, WSS_ALLOW_PRIVATE_URLS: 'true', WSS_SECRET_GLOBEX_ALL: 'x'.repeat(20) });
    // runWss gives up after 30 s (status null): the command used to hang there.
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('REDIS_URL');
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
    expect(lines[0]).toContain('ECONNREFUSED');
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  },
);

it('wss publish with REDIS_CLUSTER_NODES at closed ports exits 1 naming REDIS_CLUSTER_NODES and the seeds', async () => {
  const [a, b] = [await freePort(), await freePort()];
  const r = runWss(['publish', '--tenant', 'acme', '--type', 't', '--data', '{}'], {
    REDIS_CLUSTER_NODES: `redis://:${PASSWORD}@127.0.0.1:${a},redis://:${PASSWORD}@127.0.0.1:${b}`,
  });
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`REDIS_CLUSTER_NODES: cluster redis://127.0.0.1:${a},127.0.0.1:${b}`);
  expect(r.stderr + r.stdout).not.toContain(PASSWORD);
});

it('wss start waits WSS_REDIS_WAIT_MS for Redis, says so, then exits 1 with one line naming REDIS_URL', async () => {
  const { url, port } = await closedUrl();
  const svc = spawnWss(['start'], {
    REDIS_URL: url,
    WSS_REDIS_WAIT_MS: '2000',
    LOG_LEVEL: 'info',
    WSS_HEALTH_PORT: '0',
  });
  try {
    // Bounded: before the fix the process never exited.
    expect(await exitWithin(svc, 30_000), svc.output()).toBe(1);
  } finally {
    await svc.kill('SIGKILL');
  }
  expect(svc.output()).toMatch(/redis: not reachable, waiting up to 2 s for it \(WSS_REDIS_WAIT_MS\)/);
  expect(svc.output()).toMatch(
    new RegExp(`wss: Redis did not answer within 2 s \\(REDIS_URL: redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}\\)`),
  );
  expect(svc.output()).not.toContain(PASSWORD);
});

it.each(['REDIS_URL', 'REDIS_CLUSTER_NODES'])(
  'SIGTERM while wss start waits for Redis (%s) ends the process within the grace period, exit 0',
  async (variable) => {
    const { url } = await closedUrl();
    const svc = spawnWss(['start'], {
      [variable]: url,
      WSS_REDIS_WAIT_MS: '600000',
      WSS_SHUTDOWN_GRACE_MS: '5000',
      LOG_LEVEL: 'info',
      WSS_HEALTH_PORT: '0',
    });
    try {
      await svc.waitForOutput(/redis: not reachable/);
      svc.proc.kill('SIGTERM');
      // The grace period plus room for a loaded machine; before the fix it never exited.
      expect(await exitWithin(svc, 20_000), svc.output()).toBe(0);
    } finally {
      await svc.kill('SIGKILL');
    }
    expect(svc.output()).toContain('webhook-sender stopped during start-up');
  },
);
