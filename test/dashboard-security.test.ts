// The dashboard against DNS rebinding (the Host check), password guessing (429 after repeated
// failures) and leaking a generated password into logs. All over real HTTP.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_LIMITS } from '../src/dashboard/auth-limiter.js';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { QUEUE_NAME, createDeliveryQueue } from './helpers/legacy-queue.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { spawnWss } from './helpers/wss-process.js';

const PASSWORD = 'correct-horse-battery';
const SECRET = 'endpoint-secret-value-0123456789';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with a Host header of our choosing (fetch would not let us set it). */
function send(
  url: string,
  opts: {
    method?: string;
    path: string;
    host?: string;
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
  },
): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: opts.path,
        localAddress: opts.localAddress,
        headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const { redis } = useTestRedis();
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

describe('Host check against DNS rebinding', () => {
  let t: TestContext;
  let dash: RunningDashboard;
  beforeAll(async () => {
    t = await startTestContext({ WSS_DASHBOARD_AUTH: 'off' }, redis());
    dash = await startDashboard(t.ctx);
  });
  afterAll(async () => {
    await dash?.stop();
    await t?.close();
  });

  it('with auth off, a rebinding page (its own name as Host and Origin) can neither register an endpoint nor send a test event', async () => {
    const host = `rebind.attacker.example:${dash.port}`;
    const json = { 'content-type': 'application/json', origin: `http://${host}` };
    const put = await send(dash.url, {
      method: 'PUT',
      path: '/api/tenants/rb/endpoints/ep',
      host,
      headers: json,
      body: JSON.stringify({ url: `${receiver.url}/rebind`, secret: SECRET }),
    });
    expect(put.status).toBe(421);
    expect(await t.ctx.registry.getEndpointConfig('rb', 'ep')).toBeUndefined();

    await t.ctx.registry.putEndpoint('rb', {
      id: 'ep',
      url: `${receiver.url}/rebind`,
      secret: SECRET,
      events: ['*'],
      headers: {},
      timeoutMs: 1_000,
      retry: { attempts: 1, backoffMs: 10 },
      enabled: true,
    });
    const queue = createDeliveryQueue(t.ctx.redis, t.ctx.config.prefix);
    const jobs = () => queue.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized');
    const before = { jobs: await jobs(), events: await t.ctx.redis.xlen(t.ctx.config.stream) };
    const test = await send(dash.url, {
      method: 'POST',
      path: '/api/tenants/rb/endpoints/ep/test',
      host,
      headers: json,
      body: '{}',
    });
    expect(test.status).toBe(421);
    const ev = await send(dash.url, {
      method: 'POST',
      path: '/api/events',
      host,
      headers: json,
      body: JSON.stringify({ tenant: 'rb', type: 'x', data: {} }),
    });
    expect(ev.status).toBe(421);
    expect({ jobs: await jobs(), events: await t.ctx.redis.xlen(t.ctx.config.stream) }).toEqual(before);
    await queue.close();

    // Reads, Bull Board and its API, the root redirect, probes: all refused under a foreign Host.
    for (const path of [
      '/api/tenants',
      '/admin/queues',
      `/admin/queues/api/queues?activeQueue=${QUEUE_NAME}`,
      '/',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect((await send(dash.url, { path, host })).status, path).toBe(421);
    }
    const retry = await send(dash.url, {
      method: 'PUT',
      path: `/admin/queues/api/queues/${QUEUE_NAME}/retry/failed`,
      host,
      headers: { origin: `http://${host}` },
    });
    expect(retry.status).toBe(421);
  });

  it('with auth off, answers the loopback names on its own port only', async () => {
    for (const host of [
      `127.0.0.1:${dash.port}`,
      `localhost:${dash.port}`,
      `LOCALHOST:${dash.port}`,
      `[::1]:${dash.port}`,
    ]) {
      expect((await send(dash.url, { path: '/api/tenants', host })).status, host).toBe(200);
    }
    for (const host of [
      `localhost:${dash.port + 1}`,
      'localhost',
      `127.0.0.2:${dash.port}`,
      `localhost.attacker.example:${dash.port}`,
    ]) {
      expect((await send(dash.url, { path: '/api/tenants', host })).status, host).toBe(421);
    }
    const same = `localhost:${dash.port}`;
    const put = await send(dash.url, {
      method: 'PUT',
      path: '/api/tenants/local/endpoints/ep',
      host: same,
      headers: { 'content-type': 'application/json', origin: `http://${same}` },
      body: JSON.stringify({ url: `${receiver.url}/ok`, secret: SECRET }),
    });
    expect(put.status).toBe(201);
  });

  it('with auth on and WSS_DASHBOARD_HOSTS set, refuses other names on the board and the API but leaves probes to pod IPs', async () => {
    const t2 = await startTestContext(
      { WSS_DASHBOARD_PASSWORD: PASSWORD, WSS_DASHBOARD_HOSTS: 'dash.internal, 127.0.0.1' },
      redis(),
    );
    const d2 = await startDashboard(t2.ctx);
    try {
      const auth = { authorization: basic('admin', PASSWORD) };
      for (const host of ['dash.internal', `dash.internal:${d2.port}`, `127.0.0.1:${d2.port}`]) {
        expect((await send(d2.url, { path: '/api/tenants', host, headers: auth })).status, host).toBe(200);
      }
      for (const path of ['/api/tenants', '/admin/queues', '/admin/queues/api/queues']) {
        expect((await send(d2.url, { path, host: 'evil.example', headers: auth })).status, path).toBe(421);
      }
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        expect((await send(d2.url, { path, host: `10.1.2.3:${d2.port}` })).status, path).toBe(200);
      }
    } finally {
      await d2.stop();
      await t2.close();
    }
  });

  it('with auth on and no WSS_DASHBOARD_HOSTS, any Host is served (credentials still required)', async () => {
    const t2 = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
    const d2 = await startDashboard(t2.ctx);
    try {
      expect((await send(d2.url, { path: '/api/tenants', host: 'anything.example' })).status).toBe(401);
      expect(
        (
          await send(d2.url, {
            path: '/api/tenants',
            host: 'anything.example',
            headers: { authorization: basic('admin', PASSWORD) },
          })
        ).status,
      ).toBe(200);
    } finally {
      await d2.stop();
      await t2.close();
    }
  });
});

describe('failed logins', () => {
  it(`answers 429 with Retry-After after ${AUTH_LIMITS.maxFailures} wrong passwords from one address, to that address only, until the window ends`, async () => {
    const t2 = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
    let clock = 1_000_000;
    const d2 = await startDashboard({ ...t2.ctx, now: () => clock });
    try {
      const wrong = { authorization: basic('admin', 'guess-guess-guess') };
      const right = { authorization: basic('admin', PASSWORD) };
      for (let i = 0; i < AUTH_LIMITS.maxFailures; i++)
        expect((await send(d2.url, { path: '/api/tenants', headers: wrong })).status).toBe(401);
      const blocked = await send(d2.url, { path: '/admin/queues', headers: wrong });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBe(AUTH_LIMITS.windowMs / 1_000);
      // The right password from the same address gets the same answer: a 429 reveals nothing.
      expect((await send(d2.url, { path: '/api/tenants', headers: right })).status).toBe(429);
      // Another client address (127.0.0.2 is loopback too on Linux) is not affected.
      expect((await send(d2.url, { path: '/api/tenants', headers: right, localAddress: '127.0.0.2' })).status).toBe(
        200,
      );
      // Probes are never throttled.
      expect((await send(d2.url, { path: '/healthz' })).status).toBe(200);

      clock += AUTH_LIMITS.windowMs - 1_500;
      expect(Number((await send(d2.url, { path: '/api/tenants', headers: right })).headers['retry-after'])).toBe(2);
      clock += 1_500;
      expect((await send(d2.url, { path: '/api/tenants', headers: right })).status).toBe(200);
    } finally {
      await d2.stop();
      await t2.close();
    }
  });
});

describe('generated password', () => {
  it('on a terminal is printed once to stderr, never logged, never written to a file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wss-pw-tty-'));
    const t2 = await startTestContext({ WSS_DATA_DIR: dataDir }, redis());
    const printed: string[] = [];
    const d2 = await startDashboard(t2.ctx, { stderr: { isTTY: true, write: (s: string) => printed.push(s) } });
    try {
      if (d2.credentials.mode !== 'basic') throw new Error('expected basic auth');
      const { password } = d2.credentials;
      expect(printed.join('').split(password).length - 1).toBe(1);
      expect(t2.logs.join('')).not.toContain(password);
      expect(t2.logs.join('')).toMatch(/printed once to this terminal/);
      expect(() => statSync(join(dataDir, 'dashboard-password'))).toThrow();
    } finally {
      await d2.stop();
      await t2.close();
    }
  });

  it('without a terminal (`wss start` piped) starts, writes it to <WSS_DATA_DIR>/dashboard-password with mode 0600 and logs only the path', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'wss-pw-file-')), 'data');
    const svc = spawnWss(['start', '--role', 'dashboard'], {
      REDIS_URL: redis().url,
      WSS_PREFIX: 'pwfile',
      PORT: '0',
      LOG_LEVEL: 'info',
      WSS_DATA_DIR: dataDir,
    });
    try {
      await svc.waitForOutput(/generated password is in/);
      const file = join(dataDir, 'dashboard-password');
      const password = readFileSync(file, 'utf8').trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(svc.output()).toContain(file);
      expect(svc.output()).not.toContain(password);
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/admin\/queues"/.exec(svc.output())?.[1];
      expect(url).toBeDefined();
      expect(
        (await send(url!, { path: '/api/tenants', headers: { authorization: basic('admin', password) } })).status,
      ).toBe(200);
    } finally {
      expect(await svc.kill('SIGTERM')).toBe(0);
    }
  });
});
