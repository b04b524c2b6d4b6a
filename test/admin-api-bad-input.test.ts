// Malformed cursors and out-of-range times are the caller's mistake: a 400 naming the field,
// never a 500 from Redis or from Date (issue 18). Real Redis and dashboard; the CLI's flags too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/dashboard/server.js';
import { basic, orderEndpoint, startTestContext, type TestContext } from './helpers/dashboard-context.js';
import { useTestRedis } from './helpers/redis-server.js';
import { runWss } from './helpers/wss-process.js';

const { redis } = useTestRedis();
const PASSWORD = 'bad-input-test-password';
let t: TestContext;
let dash: RunningDashboard;

const cursor = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
const HUGE = '99999999999999999999d';

// `connection: close`: runWss (spawnSync) blocks this process, which also runs the dashboard; a
// pooled keep-alive socket could then be closed by the server's overdue idle timer as it is reused.
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; error: string }> {
  const res = await fetch(dash.url + path, {
    method,
    headers: { authorization: basic('admin', PASSWORD), 'content-type': 'application/json', connection: 'close' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
}

beforeAll(async () => {
  t = await startTestContext({ WSS_DASHBOARD_PASSWORD: PASSWORD }, redis());
  await t.registry.putEndpoint('acme', orderEndpoint('orders', 'http://127.0.0.1:9/x', 'bad-input-secret-0123456789'));
  dash = await startDashboard(t.ctx);
});

afterAll(async () => {
  await dash?.stop();
  await t?.close();
});

describe('malformed cursors and times', () => {
  it.each([
    ['cursor', cursor(['99999999999999999999999-0', 'a/b'])],
    ['cursor', cursor(['9999999999999999-0', 'orders/delivered'])],
    ['cursor', cursor(['1700000000000-0', 'orders/nonsense'])],
    ['cursor', cursor(['1700000000000-0', '../x/delivered'])],
    ['since', HUGE],
    ['until', '9999999999999999'],
    ['since', '0001-01-01'],
  ])('GET /api/deliveries with a bad %s is a 400 naming it', async (field, value) => {
    const r = await call('GET', `/api/deliveries?tenant=acme&${field}=${encodeURIComponent(value)}`);
    expect(r.status).toBe(400);
    expect(r.error).toMatch(new RegExp(`^query "${field}": `));
  });

  it('a good cursor still pages', async () => {
    const r = await call(
      'GET',
      `/api/deliveries?tenant=acme&cursor=${cursor(['1700000000000-0', 'orders/delivered'])}`,
    );
    expect(r.status).toBe(200);
  });

  it('recover and replay with an out-of-range time are a 400 naming the field', async () => {
    const rec = await call('POST', '/api/tenants/acme/endpoints/orders/recover', { since: HUGE });
    expect(rec.status).toBe(400);
    expect(rec.error).toMatch(/^field "since": must be /);
    for (const from of [HUGE, '0001-01-01T00:00:00Z']) {
      const rep = await call('POST', '/api/replay', { tenant: 'acme', from, to: 'now' });
      expect(rep.status).toBe(400);
      expect(rep.error).toMatch(/field "from": must be /);
    }
    const to = await call('POST', '/api/replay', { tenant: 'acme', from: '1h', to: HUGE });
    expect(to.status).toBe(400);
    expect(to.error).toMatch(/field "to": must be /);
  });

  it('the CLI says which flag, exit 1 or 2, no stack trace', () => {
    const env = { REDIS_URL: t.redis.url, WSS_PREFIX: 'wsst' };
    const del = runWss(
      ['deliveries', '--tenant', 'acme', '--cursor', cursor(['99999999999999999999999-0', 'a/b'])],
      env,
    );
    expect(del.status).toBe(2);
    expect(del.stderr).toMatch(/^wss: --cursor: not a cursor of this search/);
    const rec = runWss(['recover', '--tenant', 'acme', '--endpoint', 'orders', '--since', HUGE, '--dry-run'], env);
    expect(rec.status).toBe(1);
    expect(rec.stderr).toMatch(/^wss: --since: must be /);
    expect(rec.stderr).not.toMatch(/\n\s+at /);
  });
});
