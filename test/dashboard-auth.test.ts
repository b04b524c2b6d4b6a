// Dashboard auth, the same-origin check on writes, and Bull Board served behind both.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { deliveryJobOptions, JOB_NAME, type DeliveryJobData, type DeliveryQueue } from '../src/queue/job.js';
import { QUEUE_NAME, createDeliveryQueue } from './helpers/legacy-queue.js';
import { createRedis } from '../src/redis/client.js';
import { basic, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';

const { redis } = useTestRedis();

const PASSWORD = 'correct-horse-battery';
const SECRET = 'endpoint-secret-value-0123456789';

let t: TestContext;
let dash: RunningDashboard;
let queue: DeliveryQueue;
const auth = () => ({ authorization: basic('admin', PASSWORD) });

function job(eventId: string): DeliveryJobData {
  return {
    eventId,
    tenant: 'acme',
    endpoint: 'orders',
    type: 'order.created',
    createdAt: Date.UTC(2030, 0, 2, 3, 4, 5),
    body: `{"id":"${eventId}","data":{"n":1}}`,
  };
}

/** Adds jobs and lets a real BullMQ worker fail them, as a 400-ing receiver would. */
async function failedJobs(ids: string[]): Promise<void> {
  for (const id of ids)
    await queue.add(
      JOB_NAME,
      job(id),
      deliveryJobOptions(
        `${id}_acme_orders`,
        { attempts: 1, backoffMs: 10 },
        { dedupTtlMs: 1_000, keepCompleted: { count: 10, age: 60 } },
      ),
    );
  const conn = createRedis(t.ctx.config.redisUrl, 'test-failer');
  let failed = 0;
  const done = new Promise<void>((res) => {
    const w = new Worker(
      QUEUE_NAME,
      async () => {
        throw new UnrecoverableError('HTTP_STATUS: receiver answered 400');
      },
      { connection: conn, prefix: t.ctx.config.prefix },
    );
    w.on('failed', () => {
      if (++failed === ids.length) void w.close().then(() => res());
    });
  });
  await done;
  conn.disconnect();
}

beforeAll(async () => {
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
  dash = await startDashboard(t.ctx);
  queue = createDeliveryQueue(t.ctx.redis, t.ctx.config.prefix);
  await t.ctx.registry.putEndpoint('acme', {
    id: 'orders',
    url: 'http://127.0.0.1:9/orders',
    secret: SECRET,
    events: ['*'],
    headers: {},
    timeoutMs: 1_000,
    retry: { attempts: 1, backoffMs: 10 },
    enabled: true,
  });
});

afterAll(async () => {
  await dash?.stop();
  await queue?.close();
  await t?.close();
});

describe('basic auth', () => {
  it.each(['/admin/queues', '/admin/queues/api/queues', '/api/tenants'])(
    '%s answers 401 without or with wrong credentials, 200 with',
    async (path) => {
      const none = await fetch(dash.url + path);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await fetch(dash.url + path, { headers: { authorization: basic('admin', 'wrong') } })).status).toBe(401);
      expect((await fetch(dash.url + path, { headers: { authorization: basic('root', PASSWORD) } })).status).toBe(401);
      expect((await fetch(dash.url + path, { headers: auth() })).status).toBe(200);
    },
  );

  it('leaves probes and the scrape endpoint open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(dash.url + path)).status).toBe(200);
  });

  it('generates a random password when none is configured and never logs it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wss-dash-pw-'));
    const t2 = await startTestContext({ WSS_DATA_DIR: dataDir }, t.redis);
    const d2 = await startDashboard(t2.ctx);
    const d3 = await startDashboard(t2.ctx, { logCredentials: false });
    try {
      expect(d2.credentials.mode).toBe('basic');
      if (d2.credentials.mode !== 'basic' || d3.credentials.mode !== 'basic') throw new Error('unreachable');
      expect(d2.credentials.generated).toBe(true);
      expect(d2.credentials.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(d3.credentials.password).not.toBe(d2.credentials.password);
      const { user, password } = d2.credentials;
      expect(t2.logs.join('')).not.toContain(password);
      // Not a terminal (a test worker's stderr): the password went to a file only its owner reads.
      expect(readFileSync(join(dataDir, 'dashboard-password'), 'utf8')).toBe(`${password}\n`);
      expect(t2.logs.join('')).not.toContain(d3.credentials.password);
      expect((await fetch(`${d2.url}/api/tenants`)).status).toBe(401);
      expect((await fetch(`${d2.url}/api/tenants`, { headers: { authorization: basic(user, password) } })).status).toBe(
        200,
      );
    } finally {
      await d2.stop();
      await d3.stop();
      await t2.close();
    }
  });

  it('WSS_DASHBOARD_AUTH=off serves without credentials and warns', async () => {
    const t2 = await startTestContext({ WSS_DASHBOARD_AUTH: 'off' }, t.redis);
    const d2 = await startDashboard(t2.ctx);
    try {
      expect((await fetch(`${d2.url}/api/tenants`)).status).toBe(200);
      expect(t2.logs.join('')).toMatch(/authentication is OFF/);
    } finally {
      await d2.stop();
      await t2.close();
    }
  });
});

describe('cross-site writes', () => {
  const put = (headers: Record<string, string>) =>
    fetch(`${dash.url}/api/tenants/csrf/endpoints/ep`, {
      method: 'PUT',
      headers: { ...auth(), 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/x', secret: SECRET }),
    });

  it('refuses a cross-origin PUT with 403 and writes nothing', async () => {
    const cases: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
      { referer: 'http://evil.example/page' },
    ];
    for (const h of cases) {
      const res = await put(h);
      expect(res.status, JSON.stringify(h)).toBe(403);
    }
    expect(await t.ctx.registry.getEndpointConfig('csrf', 'ep')).toBeUndefined();
  });

  it('accepts same-origin browser writes and header-less clients', async () => {
    const host = new URL(dash.url).host;
    expect((await put({ origin: `http://${host}`, 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    expect((await put({ origin: `http://${host}` })).status).toBe(200);
    expect((await put({})).status).toBe(200);
  });

  it('guards Bull Board actions too', async () => {
    await failedJobs(['csrf1']);
    const res = await fetch(`${dash.url}/admin/queues/api/queues/${QUEUE_NAME}/csrf1_acme_orders/retry`, {
      method: 'PUT',
      headers: { ...auth(), origin: 'http://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(await (await queue.getJob('csrf1_acme_orders'))!.getState()).toBe('failed');
  });
});

describe('Bull Board', () => {
  it('serves the UI page at /admin/queues', async () => {
    const res = await fetch(`${dash.url}/admin/queues`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toMatch(/<div id="root"/);
    expect(html).toContain('<base href="/admin/queues/"');
    expect(html).toContain('<title>webhook-sender</title>');
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${dash.url}/admin/queues/${script}`, { headers: auth() });
    expect(js.status).toBe(200);
    expect((await fetch(`${dash.url}/admin/queues/${script}`)).status).toBe(401);
  });

  it('lists the delivery queue and shows deliveries by tenant/endpoint/type/event id, never the secret', async () => {
    await failedJobs(['show1']);
    const res = await fetch(
      `${dash.url}/admin/queues/api/queues?activeQueue=${QUEUE_NAME}&status=failed&page=1&jobsPerPage=50`,
      { headers: auth() },
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(SECRET);
    const body = JSON.parse(text) as {
      queues: Array<{
        name: string;
        displayName: string;
        counts: Record<string, number>;
        allowRetries: boolean;
        allowCompletedRetries: boolean;
        jobs: Array<{
          id: string;
          name: string;
          data: Record<string, unknown>;
          failedReason: string;
          attempts: number;
        }>;
      }>;
    };
    const q = body.queues.find((x) => x.name === QUEUE_NAME);
    expect(q).toBeDefined();
    expect(q!.allowRetries).toBe(true);
    expect(q!.allowCompletedRetries).toBe(false);
    expect(q!.counts.failed).toBeGreaterThanOrEqual(1);
    const j = q!.jobs.find((x) => x.id === 'show1_acme_orders');
    expect(j).toBeDefined();
    expect(j!.name).toBe('acme/orders · order.created · show1');
    expect(j!.data).toEqual({
      tenant: 'acme',
      endpoint: 'orders',
      eventId: 'show1',
      type: 'order.created',
      createdAt: '2030-01-02T03:04:05.000Z',
      body: '{"id":"show1","data":{"n":1}}',
      eventPage: '/admin/events?id=show1',
    });
    expect(j!.failedReason).toContain('HTTP_STATUS');
    expect(j!.attempts).toBe(1);
  });

  it('retry one and retry all move failed jobs back to waiting', async () => {
    await failedJobs(['r1', 'r2', 'r3']);
    const one = await fetch(`${dash.url}/admin/queues/api/queues/${QUEUE_NAME}/r1_acme_orders/retry`, {
      method: 'PUT',
      headers: auth(),
    });
    expect(one.status).toBe(204);
    expect(await (await queue.getJob('r1_acme_orders'))!.getState()).toBe('waiting');
    expect(await (await queue.getJob('r2_acme_orders'))!.getState()).toBe('failed');
    const all = await fetch(`${dash.url}/admin/queues/api/queues/${QUEUE_NAME}/retry/failed`, {
      method: 'PUT',
      headers: auth(),
    });
    expect(all.status).toBe(200);
    for (const id of ['r2', 'r3']) expect(await (await queue.getJob(`${id}_acme_orders`))!.getState()).toBe('waiting');
    expect(await queue.getJobCountByTypes('failed')).toBe(0);
  });

  it('refuses adding jobs, editing job data, emptying and obliterating', async () => {
    const h = { ...auth(), 'content-type': 'application/json' };
    const base = `${dash.url}/admin/queues/api/queues/${QUEUE_NAME}`;
    const add = await fetch(`${base}/add`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ name: 'deliver', data: job('forged'), options: {} }),
    });
    expect(add.status).toBe(403);
    expect(await queue.getJob('forged_acme_orders')).toBeUndefined();
    expect(
      (
        await fetch(`${base}/r1_acme_orders/update-data`, {
          method: 'PATCH',
          headers: h,
          body: JSON.stringify({ data: job('x') }),
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${base}/empty`, { method: 'PUT', headers: h })).status).toBe(403);
    expect((await fetch(`${base}/obliterate`, { method: 'PUT', headers: h })).status).toBe(403);
    expect(await queue.getJob('r1_acme_orders')).toBeDefined();
  });

  it('refuses re-sending completed deliveries (retry one or all completed)', async () => {
    const opts = deliveryJobOptions(
      'done1_acme_orders',
      { attempts: 1, backoffMs: 10 },
      { dedupTtlMs: 1_000, keepCompleted: { count: 10, age: 600 } },
    );
    await queue.add(JOB_NAME, job('done1'), opts);
    const conn = createRedis(t.ctx.config.redisUrl, 'test-completer');
    await new Promise<void>((res) => {
      const w = new Worker(
        QUEUE_NAME,
        async (j) => (j.id === 'done1_acme_orders' ? { status: 200 } : Promise.reject(new UnrecoverableError('x'))),
        { connection: conn, prefix: t.ctx.config.prefix },
      );
      w.on('completed', (j) => {
        if (j.id === 'done1_acme_orders') void w.close().then(() => res());
      });
    });
    conn.disconnect();
    const base = `${dash.url}/admin/queues/api/queues/${QUEUE_NAME}`;
    expect((await fetch(`${base}/done1_acme_orders/retry`, { method: 'PUT', headers: auth() })).status).toBe(403);
    expect((await fetch(`${base}/retry/completed`, { method: 'PUT', headers: auth() })).status).toBe(403);
    expect(await (await queue.getJob('done1_acme_orders'))!.getState()).toBe('completed');
  });

  it('refuses what would drop or throttle pending deliveries: cleaning unfinished jobs, concurrency, rate limit, delay, priority', async () => {
    // failedJobs' worker takes whatever waits, so the pending jobs are added after it stopped.
    await failedJobs(['gone1']);
    await queue.add(JOB_NAME, job('wait1'), { jobId: 'wait1_acme_orders' });
    await queue.add(JOB_NAME, job('later1'), { jobId: 'later1_acme_orders', delay: 600_000 });
    const h = { ...auth(), 'content-type': 'application/json' };
    const base = `${dash.url}/admin/queues/api/queues/${QUEUE_NAME}`;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${base}/${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const status of ['waiting', 'wait', 'delayed', 'paused', 'prioritized', 'active', 'waiting-children']) {
      const res = await call('PUT', `clean/${status}`);
      expect(res.status, status).toBe(403);
      expect(await res.text()).toContain('not allowed in webhook-sender');
    }
    expect((await call('PUT', 'wait1_acme_orders/clean')).status).toBe(403);
    expect((await call('PUT', 'later1_acme_orders/clean')).status).toBe(403);
    expect((await call('PUT', 'concurrency', { concurrency: 1 })).status).toBe(403);
    expect((await call('PUT', 'rate-limit', { max: 1, duration: 60_000 })).status).toBe(403);
    expect((await call('PATCH', 'later1_acme_orders/delay', { runAt: Date.now() + 86_400_000 })).status).toBe(403);
    expect((await call('PATCH', 'wait1_acme_orders/priority', { priority: 7 })).status).toBe(403);

    expect(await (await queue.getJob('wait1_acme_orders'))!.getState()).toBe('waiting');
    expect((await queue.getJob('wait1_acme_orders'))!.priority).toBe(0);
    const later = (await queue.getJob('later1_acme_orders'))!;
    expect(await later.getState()).toBe('delayed');
    expect(later.delay).toBe(600_000);
    expect(await queue.getGlobalConcurrency()).toBeNull();
    const limit = (await (await call('GET', 'rate-limit')).json()) as { rateLimit: unknown };
    expect(limit.rateLimit ?? null).toBeNull();

    // Finished jobs may still be cleaned.
    expect((await call('PUT', 'gone1_acme_orders/clean')).status).toBe(204);
    expect(await queue.getJob('gone1_acme_orders')).toBeUndefined();
    expect((await call('PUT', 'clean/completed')).status).toBe(200);
    expect((await call('PUT', 'clean/failed')).status).toBe(200);
    expect(await queue.getJob('wait1_acme_orders')).toBeDefined();
  });
});
